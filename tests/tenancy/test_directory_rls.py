"""Row-level security on the directory: memberships and invitations, checked as the runtime role."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseError

from finops.tenancy import services as tenancy
from finops.tenancy.context import invitation_context, tenant_context, user_context
from finops.tenancy.messages import invitation_token_hash
from finops.tenancy.selectors import membership_in, memberships_of

pytestmark = pytest.mark.django_db


def raw(sql: str, params=()) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


@pytest.fixture
def both(org, other_org, users):
    """The acme finance user is also a viewer of globex; each organisation has an invitation."""
    tenancy.member_add(tenant=other_org, actor=None, user=users["finance"], role="viewer")
    _, acme_token = tenancy.invitation_create(tenant=org, actor=users["admin"], email="new@acme.test", role="viewer")
    _, globex_token = tenancy.invitation_create(tenant=other_org, actor=None, email="new@globex.test", role="viewer")
    return acme_token, globex_token


def test_without_any_context_no_membership_or_invitation_is_visible(both):
    assert raw("SELECT count(*) FROM tenancy_membership") == [(0,)]
    assert raw("SELECT count(*) FROM tenancy_invitation") == [(0,)]


def test_in_a_tenant_context_only_that_organisations_directory_is_visible(org, other_org, both):
    with tenant_context(org):
        assert raw("SELECT DISTINCT organization_id FROM tenancy_membership") == [(org.pk,)]
        assert raw("SELECT count(*) FROM tenancy_membership") == [(4,)]
        assert raw("SELECT email FROM tenancy_invitation") == [("new@acme.test",)]


def test_a_user_sees_their_own_memberships_in_every_organisation_and_nobody_elses(org, other_org, users, both):
    with user_context(users["finance"]):
        assert sorted(raw("SELECT organization_id, role FROM tenancy_membership")) == sorted(
            [(org.pk, "finance"), (other_org.pk, "viewer")])
        assert raw("SELECT count(*) FROM tenancy_invitation") == [(0,)]
    assert [(m.organization.slug, m.role) for m in memberships_of(user=users["finance"])] == [
        ("acme", "finance"), ("globex", "viewer")]
    assert membership_in(tenant=other_org, user=users["viewer"]) is None
    assert membership_in(tenant=org, user=users["viewer"]).role == "viewer"


def test_an_invitation_is_visible_by_its_own_token_only(both):
    acme_token, globex_token = both
    with invitation_context(invitation_token_hash(acme_token)):
        assert raw("SELECT email FROM tenancy_invitation") == [("new@acme.test",)]
        assert raw("SELECT count(*) FROM tenancy_membership") == [(0,)]
    assert tenancy.invitation_for_token(globex_token).email == "new@globex.test"
    assert tenancy.invitation_for_token("not-a-token") is None


def test_the_directory_is_written_only_in_its_organisations_context(org, other_org, users):
    insert = ("INSERT INTO tenancy_membership (organization_id, user_id, role, created_at) "
              "VALUES (%s, %s, 'admin', now())")
    for context in (user_context(users["viewer"]), tenant_context(other_org)):
        with context, pytest.raises(DatabaseError, match="row-level security"), transaction.atomic():
            raw(insert, [org.pk, users["viewer"].pk])
    with user_context(users["viewer"]), pytest.raises(DatabaseError, match="row-level security"), \
            transaction.atomic():  # nor can a user promote themselves
        raw("UPDATE tenancy_membership SET role = 'admin' WHERE user_id = %s", [users["viewer"].pk])
    assert [m.role for m in memberships_of(user=users["viewer"])] == ["viewer"]


def test_accepting_an_invitation_writes_the_membership_in_the_inviting_organisation(org, users, both):
    acme_token, _ = both
    newcomer = tenancy.user_get_or_create(email="new@acme.test", password="correct horse battery staple")
    membership = tenancy.invitation_accept(token=acme_token, user=newcomer)
    assert (membership.organization_id, membership.role) == (org.pk, "viewer")
    assert [m.organization.slug for m in memberships_of(user=newcomer)] == ["acme"]
    with tenant_context(org):
        assert raw("SELECT accepted_at IS NOT NULL FROM tenancy_invitation WHERE email = 'new@acme.test'") == [(True,)]
