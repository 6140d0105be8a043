"""Master data pages: accounts, cost centers, entities, periods and exchange rates."""

import re
from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from finops.audit.models import AuditEvent
from finops.ledger import services as ledger
from finops.ledger.models import Account, CostCenter, Entity, FxRate, Period, PeriodStatus
from finops.ledger.periods import period_close, period_ensure
from finops.ledger.services import LineSpec
from finops.tenancy.context import tenant_context


def url(name, org_slug="acme", **kwargs):
    return reverse(f"ledger:{name}", kwargs={"org_slug": org_slug, **kwargs})


@pytest.fixture
def finance(client, users):
    client.force_login(users["finance"])
    return client


def rows_of(html, cls="tree"):
    table = re.search(rf'<table class="data[^"]*{cls}">(.*?)</table>', html, re.S).group(1)
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip()
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table.split("<tbody>")[1], re.S)]


# --- accounts -----------------------------------------------------------------------------

def test_the_chart_of_accounts_is_a_tree_under_parents(finance, books):
    office = ledger.account_save(tenant=books.org, actor=None, code="6110", name="Office rent", type="expense",
                                 parent=books.rent)
    ledger.account_save(tenant=books.org, actor=None, code="6111", name="Parking", type="expense", parent=office)
    html = finance.get(url("accounts")).content.decode()
    assert rows_of(html)[:7] == [
        "1000 Cash Asset Debit Active — Lines · Edit",
        "2000 Accounts payable Liability Credit Active — Lines · Edit",
        "4000 Subscription revenue Revenue Credit Active — Lines · Edit",
        "6100 Rent Expense Debit Active — Lines · Edit",
        "6110 Office rent Expense Debit Active — Lines · Edit",
        "6111 Parking Expense Debit Active — Lines · Edit",
        "6200 Software Expense Debit Active — Lines · Edit",
    ]
    assert re.search(r'class="depth-2"><span class="mono code">6111', html)


def test_the_accounts_page_runs_a_fixed_number_of_queries(finance, books, django_assert_max_num_queries):
    for i in range(40):
        ledger.account_save(tenant=books.org, actor=None, code=f"7{i:03d}", name=f"Expense {i}", type="expense",
                            parent=books.software)
    # session, user, membership ×2, the accounts, and the tenant contexts' savepoints and set_config calls (7)
    with django_assert_max_num_queries(13):  # +1: the organisation by slug, before its tenant context
        response = finance.get(url("accounts"))
    assert len(rows_of(response.content.decode())) == 45


def test_creating_an_account_sets_its_normal_balance_from_its_type(finance, books):
    response = finance.post(url("account_create"), {"code": "4100", "name": "Services", "type": "revenue",
                                                    "parent": books.revenue.pk, "active": "on"})
    assert response.status_code == 302 and response["Location"] == url("accounts")
    with tenant_context(books.org):
        account = Account.objects.get(code="4100")
        assert AuditEvent.objects.filter(action="account.create", object_id=str(account.pk)).count() == 1
    assert (account.name, account.normal_balance, account.parent_id, account.active, account.is_intercompany) == (
        "Services", "credit", books.revenue.pk, True, False)


def test_a_duplicate_account_code_is_refused_and_the_form_keeps_what_was_typed(finance, books):
    response = finance.post(url("account_create"), {"code": "1000", "name": "Petty cash", "type": "asset"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "An account with code 1000 exists already." in html
    assert 'value="Petty cash"' in html


def test_account_form_validation_errors_are_shown_next_to_the_fields(finance, books, other_books):
    html = finance.post(url("account_create"), {"code": "", "name": "X", "type": "planet",
                                                "parent": other_books.cash.pk}).content.decode()
    assert html.count("errorlist") == 3
    assert "This field is required." in html
    assert "Select a valid choice. planet is not one of the available choices." in html
    assert f"Select a valid choice. {other_books.cash.pk} is not one of the available choices." in html


def test_editing_an_account_and_the_type_of_a_posted_account_cannot_change(finance, books):
    ledger.journal_post(tenant=books.org, actor=None, entity=books.usd, date=date(2026, 3, 3),
                        lines=[LineSpec(books.rent.pk, Decimal("5")), LineSpec(books.cash.pk, Decimal("-5"))])
    ok = finance.post(url("account_edit", pk=books.rent.pk), {"code": "6100", "name": "Rent and rates",
                                                             "type": "expense", "active": "on"})
    assert ok.status_code == 302
    refused = finance.post(url("account_edit", pk=books.rent.pk), {"code": "6100", "name": "Rent", "type": "asset",
                                                                  "active": "on"})
    assert "Account 6100 has postings: its type cannot change." in refused.content.decode()
    with tenant_context(books.org):
        rent = Account.objects.get(pk=books.rent.pk)
    assert (rent.name, rent.type) == ("Rent and rates", "expense")
    page = finance.get(url("account_edit", pk=books.rent.pk)).content.decode()
    assert f'<option value="{books.rent.pk}"' not in page  # not offered as its own parent


def test_an_account_cannot_be_put_under_its_own_child(finance, books):
    child = ledger.account_save(tenant=books.org, actor=None, code="6101", name="Sub-rent", type="expense",
                                parent=books.rent)
    html = finance.post(url("account_edit", pk=books.rent.pk), {"code": "6100", "name": "Rent", "type": "expense",
                                                               "parent": child.pk, "active": "on"}).content.decode()
    assert "An account cannot be its own ancestor." in html


def test_another_organisations_account_is_not_found(finance, books, other_books):
    assert finance.get(url("account_edit", pk=other_books.cash.pk)).status_code == 404
    assert finance.post(url("account_edit", pk=other_books.cash.pk), {"code": "X", "name": "X", "type": "asset"}).status_code == 404


# --- cost centers -------------------------------------------------------------------------

def test_cost_centers_show_as_a_tree_with_owners(finance, books, users):
    ledger.cost_center_save(tenant=books.org, actor=None, code="EMEA", name="Sales EMEA", parent=books.sales,
                            owner=users["director"])
    html = finance.get(url("cost_centers")).content.decode()
    assert rows_of(html) == [
        "OPS Operations — Active Lines · Edit",
        "SALES Sales — Active Lines · Edit",
        "EMEA Sales EMEA director@acme.test Active Lines · Edit",
    ]
    assert re.search(r'class="depth-2"><span class="mono code">EMEA', html)


def test_creating_and_editing_a_cost_center_with_an_owner(finance, books, users):
    response = finance.post(url("cost_center_create"), {"code": "RND", "name": "Research", "parent": books.ops.pk,
                                                        "owner": users["director"].pk, "active": "on"})
    assert response.status_code == 302
    with tenant_context(books.org):
        rnd = CostCenter.objects.get(code="RND")
    assert (rnd.parent_id, rnd.owner_id, rnd.active) == (books.ops.pk, users["director"].pk, True)
    finance.post(url("cost_center_edit", pk=rnd.pk), {"code": "RND", "name": "R&D", "owner": ""})
    with tenant_context(books.org):
        rnd = CostCenter.objects.get(code="RND")
    assert (rnd.name, rnd.parent_id, rnd.owner_id, rnd.active) == ("R&D", None, None, False)


def test_a_cost_center_owner_must_be_a_member_and_cycles_are_refused(finance, books, other_org):
    from django.contrib.auth import get_user_model

    outsider = get_user_model().objects.get(email="finance@globex.test")
    html = finance.post(url("cost_center_create"), {"code": "X", "name": "X", "owner": outsider.pk}).content.decode()
    assert f"Select a valid choice. {outsider.pk} is not one of the available choices." in html
    html = finance.post(url("cost_center_edit", pk=books.ops.pk), {"code": "OPS", "name": "Operations",
                                                                  "parent": books.sales.pk}).content.decode()
    assert "A cost center cannot be its own ancestor." in html


# --- entities -----------------------------------------------------------------------------

def test_creating_an_entity_and_its_validation(finance, books):
    response = finance.post(url("entities"), {"code": "DE", "name": "Acme GmbH", "functional_currency": "eur"})
    assert response.status_code == 302
    with tenant_context(books.org):
        assert Entity.objects.get(code="DE").functional_currency == "EUR"
    html = finance.get(url("entities")).content.decode()
    assert "Acme GmbH" in html and "EUR" in html
    bad = finance.post(url("entities"), {"code": "FR", "name": "Acme SAS", "functional_currency": "EUX"}).content.decode()
    assert "EUX is not an ISO 4217 currency code." in bad and 'value="Acme SAS"' in bad
    dup = finance.post(url("entities"), {"code": "DE", "name": "Again", "functional_currency": "EUR"}).content.decode()
    assert "An entity with code DE exists already." in dup
    with tenant_context(books.org):
        assert Entity.objects.count() == 3


# --- periods ------------------------------------------------------------------------------

def test_creating_a_fiscal_year_makes_twelve_open_periods(finance, books):
    response = finance.post(url("periods"), {"fiscal_year": "2027"})
    assert response.status_code == 302 and response["Location"] == url("periods") + "#fy-2027"
    with tenant_context(books.org):
        periods = list(Period.objects.filter(fiscal_year=2027).order_by("number").values_list("start", "status"))
    assert periods == [(date(2027, m, 1), "open") for m in range(1, 13)]
    again = finance.post(url("periods"), {"fiscal_year": "2027"}, follow=True)
    assert "FY2027 exists already" in again.content.decode()
    html = finance.post(url("periods"), {"fiscal_year": "abc"}).content.decode()
    assert "Enter a whole number." in html


def test_closing_and_reopening_a_period_from_the_periods_page(finance, books):
    finance.post(url("periods"), {"fiscal_year": "2026"})
    with tenant_context(books.org):
        march = Period.objects.get(fiscal_year=2026, number=3)
    response = finance.post(url("period_close", pk=march.pk), follow=True)
    html = response.content.decode()
    assert "Period 2026-03 closed" in html
    assert html.count("badge-closed") == 1 and html.count("badge-open") == 11
    assert url("period_reopen", pk=march.pk) in html
    again = finance.post(url("period_close", pk=march.pk), follow=True)
    assert "Period 2026-03 is already closed." in again.content.decode()
    finance.post(url("period_reopen", pk=march.pk))
    with tenant_context(books.org):
        assert Period.objects.get(pk=march.pk).status == PeriodStatus.OPEN
        assert list(AuditEvent.objects.filter(object_type="period").order_by("id").values_list("action", flat=True)) == [
            "period.close", "period.reopen"]


def test_a_foreign_period_is_not_found(finance, books, other_books):
    foreign = period_ensure(tenant=other_books.org, d=date(2026, 3, 1))
    assert finance.post(url("period_close", pk=foreign.pk)).status_code == 404


# --- exchange rates -----------------------------------------------------------------------

def test_adding_updating_and_filtering_rates(finance, books):
    response = finance.post(url("fx_rates"), {"date": "2026-04-17", "from_currency": "eur", "to_currency": "usd",
                                              "rate": "1.0920", "kind": "average"})
    assert response.status_code == 302
    finance.post(url("fx_rates"), {"date": "2026-04-02", "from_currency": "EUR", "to_currency": "USD",
                                   "rate": "1.1", "kind": "average"})
    with tenant_context(books.org):
        april = list(FxRate.objects.filter(date__month=4).values_list("date", "from_currency", "to_currency", "rate"))
    assert april == [(date(2026, 4, 1), "EUR", "USD", Decimal("1.1000000000"))]
    html = finance.get(url("fx_rates"), {"month": "2026-04"}).content.decode()
    table = re.search(r"<tbody>(.*?)</tbody>", html, re.S).group(1)
    assert table.count("<tr>") == 1 and "EUR → USD" in table and ">1.1<" in table
    pair = finance.get(url("fx_rates"), {"from_currency": "GBP"}).content.decode()
    table = re.search(r"<tbody>(.*?)</tbody>", pair, re.S).group(1)
    assert table.count("<tr>") == 1 and "GBP → USD" in table and ">1.27<" in table
    bad_month = finance.get(url("fx_rates"), {"month": "2026-13"}).content.decode()
    assert "Enter a month as YYYY-MM." in bad_month


@pytest.mark.parametrize("data, message", [
    ({"from_currency": "EUR", "to_currency": "EUR", "rate": "1"}, "Choose a currency different from the first one."),
    ({"from_currency": "EUR", "to_currency": "USD", "rate": "-1"}, "Ensure this value is greater than or equal to"),
    ({"from_currency": "EUR", "to_currency": "USD", "rate": "abc"}, "Enter a number."),
    ({"from_currency": "ZZZ", "to_currency": "USD", "rate": "1"}, "ZZZ is not an ISO 4217 currency code."),
])
def test_a_bad_rate_is_refused_next_to_its_field(finance, books, data, message):
    html = finance.post(url("fx_rates"), {"date": "2026-05-01", "kind": "average", **data}).content.decode()
    assert message in html
    with tenant_context(books.org):
        assert not FxRate.objects.filter(date__month=5).exists()


def test_editing_a_rate_prefills_the_form(finance, books):
    with tenant_context(books.org):
        rate = FxRate.objects.get(from_currency="GBP")
    html = finance.get(url("fx_rates"), {"edit": rate.pk}).content.decode()
    assert 'name="rate" value="1.27"' in html and 'name="from_currency" value="GBP"' in html


# --- who may do what ----------------------------------------------------------------------

POSTS = [
    ("account_create", {}, {"code": "9", "name": "X", "type": "asset"}),
    ("cost_center_create", {}, {"code": "X", "name": "X"}),
    ("entities", {}, {"code": "X", "name": "X", "functional_currency": "USD"}),
    ("periods", {}, {"fiscal_year": "2030"}),
    ("fx_rates", {}, {"date": "2026-01-01", "from_currency": "EUR", "to_currency": "USD", "rate": "1", "kind": "average"}),
]


@pytest.mark.parametrize("role", ["viewer", "director"])
def test_viewers_and_directors_get_403_on_every_master_data_post(client, users, books, role):
    client.force_login(users[role])
    march = period_ensure(tenant=books.org, d=date(2026, 3, 1))
    for name, kwargs, data in [*POSTS, ("account_edit", {"pk": books.cash.pk}, {}),
                               ("cost_center_edit", {"pk": books.ops.pk}, {}),
                               ("period_close", {"pk": march.pk}, {})]:
        assert client.post(url(name, **kwargs), data).status_code == 403, name
    period_close(tenant=books.org, actor=None, period=march)
    assert client.post(url("period_reopen", pk=march.pk)).status_code == 403
    with tenant_context(books.org):
        assert Period.objects.get(pk=march.pk).status == PeriodStatus.CLOSED
        assert not Period.objects.filter(fiscal_year=2030).exists()


def test_a_viewer_sees_master_data_without_write_buttons(client, users, books):
    client.force_login(users["viewer"])
    period_ensure(tenant=books.org, d=date(2026, 3, 1))
    for name, forbidden in [("accounts", url("account_create")), ("cost_centers", url("cost_center_create")),
                            ("entities", "Create entity"), ("periods", "Close 2026-03"), ("fx_rates", "Save rate")]:
        response = client.get(url(name))
        assert response.status_code == 200, name
        assert forbidden not in response.content.decode(), name
    assert "Edit" not in rows_of(client.get(url("accounts")).content.decode())[0]
