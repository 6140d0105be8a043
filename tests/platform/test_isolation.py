"""Tenants never see each other.

Every URL pattern under /o/<slug>/ is listed in FOREIGN_KWARGS with the ids it takes; a new
pattern without an entry fails `test_every_organisation_url_pattern_is_covered`. Then, for every
role: the other organisation's slug with its ids answers 404 to GET, POST and htmx requests
alike, and the own slug with the other organisation's ids never answers with data. Canary
strings planted in one organisation never appear in the other's pages, exports or e-mails.
"""

from __future__ import annotations

import pytest
from django.core import mail
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from finops.tenancy import services as tenancy
from finops.tenancy.context import tenant_context
from finops.tenancy.models import Invitation
from finops.tenancy.permissions import Role
from tests.builders import member
from tests.platform.planted import FOREIGN_KWARGS, plant


def organisation_url_names() -> set[str]:
    names: set[str] = set()

    def walk(patterns, prefix: str, namespace: str):
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                ns = pattern.namespace or namespace
                walk(pattern.url_patterns, route, ns)
            elif isinstance(pattern, URLPattern) and "<slug:org_slug>" in route:
                assert pattern.name, f"unnamed organisation URL pattern {route}"
                names.add(f"{namespace}:{pattern.name}" if namespace else pattern.name)

    walk(get_resolver().url_patterns, "", "")
    return names


@pytest.fixture
def two_orgs(org, other_org):
    return plant(org, "CANARY-ACME-51c2"), plant(other_org, "CANARY-GLOBEX-9e7d")


def test_every_organisation_url_pattern_is_covered():
    assert organisation_url_names() == set(FOREIGN_KWARGS)


def requests_for(client, url):
    yield "GET", client.get(url)
    yield "POST", client.post(url, {"name": "x", "code": "X1", "role": "admin", "email": "x@x.test"})
    yield "htmx GET", client.get(url, headers={"HX-Request": "true"})
    yield "htmx POST", client.post(url, {}, headers={"HX-Request": "true"})


@pytest.mark.parametrize("role", Role.values)
def test_the_other_organisations_slug_and_ids_answer_404_to_every_role(client, two_orgs, role):
    mine, theirs = two_orgs
    client.force_login(member(mine.org, role=role).user)
    failures = []
    for name, kwargs in FOREIGN_KWARGS.items():
        url = reverse(name, kwargs={"org_slug": theirs.org.slug, **kwargs(theirs)})
        for method, response in requests_for(client, url):
            if response.status_code != 404 or theirs.canary.encode() in response.content:
                failures.append((name, method, response.status_code))
    assert failures == []


@pytest.mark.parametrize("role", Role.values)
def test_the_own_slug_with_the_other_organisations_ids_never_answers_with_their_data(client, two_orgs, role):
    mine, theirs = two_orgs
    client.force_login(member(mine.org, role=role).user)
    failures = []
    for name, kwargs in FOREIGN_KWARGS.items():
        foreign_ids = kwargs(theirs)
        if not foreign_ids:
            continue
        url = reverse(name, kwargs={"org_slug": mine.org.slug, **foreign_ids})
        for method, response in requests_for(client, url):
            # 404 for whoever may act on such an object; a role that may not act at all gets the
            # same 403 (and a wrong method the same 405) whether the id exists or not, which
            # reveals nothing either.
            if response.status_code not in (403, 404, 405) or theirs.canary.encode() in response.content:
                failures.append((name, method, response.status_code))
    assert failures == []
    with tenant_context(theirs.org):
        assert Invitation.objects.get(pk=theirs.invitation.pk).revoked_at is None
        theirs.transfer.refresh_from_db()
        theirs.version.refresh_from_db()
        theirs.alert.item.refresh_from_db()
    assert (theirs.transfer.status, theirs.version.status, theirs.alert.item.status) == ("requested", "approved", "open")
    assert member(theirs.org, pk=theirs.membership.pk).role == Role.VIEWER


def test_canaries_never_cross_into_the_other_organisations_pages_and_exports(client, two_orgs):
    for mine, theirs in (two_orgs, tuple(reversed(two_orgs))):
        client.force_login(member(mine.org, role=Role.ADMIN).user)
        seen_own = False
        for name, kwargs in FOREIGN_KWARGS.items():
            url = reverse(name, kwargs={"org_slug": mine.org.slug, **kwargs(mine)})
            for query in ("", "?format=csv", "?format=xlsx"):
                response = client.get(url + query)
                assert response.status_code in (200, 302, 405), (name, query, response.status_code)
                body = response.content
                assert theirs.canary.encode() not in body, (name, query)
                seen_own = seen_own or mine.canary.encode() in body
        assert seen_own, "the own canary must show somewhere, or this test could not fail"


def test_canaries_never_cross_into_the_other_organisations_e_mails(two_orgs, django_capture_on_commit_callbacks):
    mine, theirs = two_orgs
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        tenancy.invitation_create(tenant=mine.org, actor=None, email="someone@new.test", role=Role.FINANCE)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    rendered = message.body + "".join(alt[0] for alt in message.alternatives) + message.subject
    assert theirs.canary not in rendered
    assert mine.org.name in rendered
