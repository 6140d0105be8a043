"""The organisation's pages: settings, members and roles (with the last-admin rule), the audit log."""

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from finops.audit.models import AuditEvent
from finops.ledger import services as ledger
from finops.ledger.services import LineSpec
from finops.tenancy.context import tenant_context
from finops.tenancy.models import Membership, Organization
from finops.tenancy.permissions import Role
from tests.builders import member

pytestmark = pytest.mark.django_db


def url(name, **kwargs):
    return reverse(f"org:{name}", kwargs={"org_slug": "acme", **kwargs})


def membership(org, email):
    return member(org, user__email=email)


# --- settings ------------------------------------------------------------------------------------

def test_an_admin_changes_the_name_currency_and_fiscal_year_start(client, org, users):
    client.force_login(users["admin"])
    response = client.post(url("settings"), {"name": "Acme Group", "reporting_currency": "EUR", "fiscal_year_start": "4"})
    assert response["Location"] == url("settings")
    org.refresh_from_db()
    assert (org.name, str(org.reporting_currency), org.fiscal_year_start_month) == ("Acme Group", "EUR", 4)
    with tenant_context(org):
        event = AuditEvent.objects.get(action="organization.update")
    assert event.before == {"name": "Acme", "fiscal_year_start_month": 1, "reporting_currency": "USD"}
    assert event.actor_label == "admin@acme.test"


def test_the_fiscal_year_start_is_refused_next_to_the_field_once_periods_exist(client, books, users):
    ledger.journal_post(tenant=books.org, actor=None, entity=books.usd, date=date(2026, 3, 5),
                        lines=[LineSpec(books.cash.pk, Decimal("10")), LineSpec(books.revenue.pk, Decimal("-10"))])
    client.force_login(users["admin"])
    response = client.post(url("settings"), {"name": "Acme Renamed", "reporting_currency": "USD", "fiscal_year_start": "7"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "The fiscal year start cannot change once periods exist." in page
    assert 'value="Acme Renamed"' in page  # what was typed is kept
    assert Organization.objects.get(pk=books.org.pk).name == "Acme"


def test_an_unknown_currency_or_empty_name_is_refused(client, org, users):
    client.force_login(users["admin"])
    page = client.post(url("settings"), {"name": "  ", "reporting_currency": "XYZ", "fiscal_year_start": "1"}).content.decode()
    assert "Select a valid choice. XYZ is not one of the available choices." in page
    assert "This field is required." in page  # blanks are stripped: an empty name
    assert Organization.objects.get(pk=org.pk).name == "Acme"


@pytest.mark.parametrize("role", ["finance", "director", "viewer"])
def test_other_roles_read_the_settings_but_cannot_post_them(client, org, users, role):
    client.force_login(users[role])
    page = client.get(url("settings")).content.decode()
    assert "Only admins can change these settings." in page
    assert "disabled" in page
    response = client.post(url("settings"), {"name": "Hacked", "reporting_currency": "USD", "fiscal_year_start": "1"})
    assert response.status_code == 403
    assert Organization.objects.get(pk=org.pk).name == "Acme"


# --- members -------------------------------------------------------------------------------------

def test_everyone_sees_the_members_with_their_roles_and_only_admins_get_the_controls(client, org, users):
    client.force_login(users["viewer"])
    page = client.get(url("members")).content.decode()
    for role in Role.values:
        assert f"{role}@acme.test" in page
    assert "Send invitation" not in page and "Remove" not in page
    client.force_login(users["admin"])
    page = client.get(url("members")).content.decode()
    assert "Send invitation" in page and "Remove" in page


def test_an_admin_changes_a_role_and_it_is_audited(client, org, users):
    client.force_login(users["admin"])
    target = membership(org, "viewer@acme.test")
    response = client.post(url("member_role", pk=target.pk), {"role": "finance"}, follow=True)
    assert "viewer@acme.test is now finance." in response.content.decode()
    with tenant_context(org):
        target.refresh_from_db()
    assert target.role == Role.FINANCE
    with tenant_context(org):
        event = AuditEvent.objects.get(action="member.role")
    assert (event.before, event.after) == ({"role": "viewer"}, {"role": "finance"})


def test_an_admin_removes_a_member_who_then_loses_access(client, org, users):
    client.force_login(users["admin"])
    target = membership(org, "director@acme.test")
    response = client.post(url("member_remove", pk=target.pk), follow=True)
    assert "director@acme.test no longer has access to Acme." in response.content.decode()
    with tenant_context(org):
        assert not Membership.objects.filter(pk=target.pk).exists()
    client.force_login(users["director"])
    assert client.get(url("members")).status_code == 404


def test_the_last_admin_can_be_neither_demoted_nor_removed_and_the_page_says_why(client, org, users):
    client.force_login(users["admin"])
    admin = membership(org, "admin@acme.test")
    page = client.get(url("members")).content.decode()
    assert "Last admin: an organisation needs at least one." in page

    response = client.post(url("member_role", pk=admin.pk), {"role": "viewer"}, follow=True)
    assert "The organisation needs at least one admin." in response.content.decode()
    response = client.post(url("member_remove", pk=admin.pk), follow=True)
    assert "The organisation needs at least one admin." in response.content.decode()
    with tenant_context(org):
        admin.refresh_from_db()
    assert admin.role == Role.ADMIN

    # With a second admin, the first may step down.
    client.post(url("member_role", pk=membership(org, "finance@acme.test").pk), {"role": "admin"})
    assert "Last admin" not in client.get(url("members")).content.decode()
    client.post(url("member_role", pk=admin.pk), {"role": "viewer"})
    with tenant_context(org):
        admin.refresh_from_db()
    assert admin.role == Role.VIEWER


def test_an_unknown_role_is_refused(client, org, users):
    client.force_login(users["admin"])
    target = membership(org, "viewer@acme.test")
    response = client.post(url("member_role", pk=target.pk), {"role": "owner"}, follow=True)
    assert "Choose one of the roles in the list." in response.content.decode()
    with tenant_context(org):
        target.refresh_from_db()
    assert target.role == Role.VIEWER


@pytest.mark.parametrize("role", ["finance", "director", "viewer"])
def test_non_admins_cannot_post_member_changes(client, org, users, role):
    client.force_login(users[role])
    target = membership(org, "viewer@acme.test")
    assert client.post(url("member_role", pk=target.pk), {"role": "admin"}).status_code == 403
    assert client.post(url("member_remove", pk=target.pk)).status_code == 403
    with tenant_context(org):
        target.refresh_from_db()
    assert target.role == Role.VIEWER


def test_a_member_of_another_organisation_cannot_be_touched_through_this_one(client, org, other_org, users):
    client.force_login(users["admin"])
    foreign = membership(other_org, "viewer@globex.test")
    assert client.post(url("member_role", pk=foreign.pk), {"role": "admin"}).status_code == 404
    assert client.post(url("member_remove", pk=foreign.pk)).status_code == 404
    with tenant_context(other_org):
        foreign.refresh_from_db()
    assert foreign.role == Role.VIEWER


def test_a_get_on_a_post_endpoint_is_refused(client, org, users):
    client.force_login(users["admin"])
    assert client.get(url("member_remove", pk=membership(org, "viewer@acme.test").pk)).status_code == 405


# --- audit log -----------------------------------------------------------------------------------

def test_a_viewer_reads_the_audit_log_with_before_and_after(client, org, users):
    client.force_login(users["admin"])
    client.post(url("member_role", pk=membership(org, "director@acme.test").pk), {"role": "finance"})
    client.force_login(users["viewer"])
    response = client.get(url("audit"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "member.role" in page and "admin@acme.test" in page
    assert '<span class="before">director</span><span class="arrow">→</span><span class="after">finance</span>' in page


def test_the_audit_log_filters_by_action_and_object_type(client, org, users):
    client.force_login(users["admin"])
    client.post(url("member_role", pk=membership(org, "director@acme.test").pk), {"role": "finance"})
    response = client.get(url("audit"), {"action": "member.role"})
    events = [e for e, _ in response.context["events"]]
    assert [e.action for e in events] == ["member.role"]
    response = client.get(url("audit"), {"object_type": "membership"})
    assert {e.object_type for e, _ in response.context["events"]} == {"membership"}
    assert len(response.context["events"]) == 5  # four member.add and one member.role


def test_the_audit_log_pages_by_50_forwards_and_back(client, org, users):
    ledger.entity_create(tenant=org, actor=None, code="E0", name="Entity 0", functional_currency="USD")
    for i in range(1, 120):  # 119 entities + 4 member.add = 124 events
        ledger.entity_create(tenant=org, actor=None, code=f"E{i}", name=f"Entity {i}", functional_currency="USD")
    client.force_login(users["viewer"])
    first = client.get(url("audit"))
    assert len(first.context["events"]) == 50
    assert first.context["newer"] == ""
    second = client.get(url("audit"), {"cursor": first.context["older"]})
    third = client.get(url("audit"), {"cursor": second.context["older"]})
    assert [len(p.context["events"]) for p in (second, third)] == [50, 24]
    assert third.context["older"] == ""
    seen = [e.pk for page in (first, second, third) for e, _ in page.context["events"]]
    with tenant_context(org):
        assert seen == list(AuditEvent.objects.order_by("-at", "-id").values_list("pk", flat=True))
    back = client.get(url("audit"), {"cursor": third.context["newer"]})
    assert [e.pk for e, _ in back.context["events"]] == [e.pk for e, _ in second.context["events"]]
    back = client.get(url("audit"), {"cursor": back.context["newer"]})
    assert [e.pk for e, _ in back.context["events"]] == [e.pk for e, _ in first.context["events"]]
    assert back.context["newer"] == ""


def test_a_garbled_cursor_shows_the_first_page(client, org, users):
    client.force_login(users["viewer"])
    response = client.get(url("audit"), {"cursor": "'; drop table"})
    assert response.status_code == 200
    assert len(response.context["events"]) == 4


AUDIT_TITLES = ["At (UTC)", "Who", "Action", "Object type", "Object id", "Object", "Before", "After"]


def test_the_audit_log_exports_as_csv_with_formulas_neutralised(client, org, users):
    entity = ledger.entity_create(tenant=org, actor=None, code="=1+2", name="Evil", functional_currency="USD")
    client.force_login(users["viewer"])
    response = client.get(url("audit"), {"format": "csv", "action": "entity.create"})
    assert response["Content-Disposition"] == 'attachment; filename="audit-log_acme_entity.create.csv"'
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == AUDIT_TITLES
    with tenant_context(org):
        event = AuditEvent.objects.get(action="entity.create")
    assert rows[1:] == [[f"{event.at:%Y-%m-%d %H:%M:%S}", "system", "entity.create", "entity", str(entity.pk),
                         "'=1+2 · Evil",  # would be a formula in a spreadsheet without the apostrophe
                         "", '{"code": "=1+2", "name": "Evil", "functional_currency": "USD"}']]


def test_the_audit_log_exports_as_a_sheet_ready_to_hand_on(client, org, users):
    ledger.entity_create(tenant=org, actor=None, code="US", name="Acme Inc", functional_currency="USD")
    ledger.entity_create(tenant=org, actor=None, code="UK", name="Acme Ltd", functional_currency="GBP")
    client.force_login(users["viewer"])
    assert 'href="/o/acme/audit/?format=xlsx"' in client.get(url("audit")).content.decode()
    response = client.get(url("audit"), {"format": "xlsx", "object_type": "entity"})
    assert response["Content-Disposition"] == 'attachment; filename="audit-log_acme_entity.xlsx"'
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet.title == "Audit log"
    assert sheet["A1"].value == "Audit log" and sheet["A1"].font.bold
    assert sheet["A2"].value == "Acme · Object type entity"
    assert [c.value for c in sheet[4]] == AUDIT_TITLES
    assert sheet.freeze_panes == "A5" and sheet.auto_filter.ref == "A4:H6"
    with tenant_context(org):
        events = list(AuditEvent.objects.filter(object_type="entity").order_by("-at", "-id"))
    body = list(sheet.iter_rows(min_row=5, values_only=True))
    assert [(r[0], r[2], r[5]) for r in body] == [
        (e.at.replace(microsecond=0, tzinfo=None), "entity.create", e.object_repr) for e in events]
    assert [r[5] for r in body] == ["UK · Acme Ltd", "US · Acme Inc"]
    assert sheet["A5"].number_format == "yyyy-mm-dd hh:mm:ss"
    assert sheet.column_dimensions["H"].width == 60


def test_the_audit_log_shows_only_this_organisations_events(client, org, other_org, users):
    ledger.entity_create(tenant=other_org, actor=None, code="GLX", name="Globex secret", functional_currency="USD")
    client.force_login(users["viewer"])
    page = client.get(url("audit")).content.decode()
    assert "Globex secret" not in page
    assert "globex.test" not in page
