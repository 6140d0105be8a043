"""Settings → API tokens: admins only; the token is shown once, on the page that created it."""

from __future__ import annotations

import re

from django.urls import reverse

from finops.api.models import ApiToken
from finops.api.tokens import token_authenticate
from finops.tenancy.context import tenant_context


def url(name="tokens", **kwargs):
    return reverse(f"api_tokens:{name}", kwargs={"org_slug": "acme", **kwargs})


def test_an_admin_creates_a_token_sees_it_once_and_revokes_it(client, users, org):
    client.force_login(users["admin"])
    page = client.get(url())
    assert page.status_code == 200 and f'<option value="{users["admin"].pk}" selected>' in page.content.decode()
    created = client.post(url(), {"name": "warehouse sync", "user": users["finance"].pk, "scopes": ["read", "write"]})
    assert created.status_code == 200 and "no-store" in created["Cache-Control"]  # the secret is never cached
    secret = re.search(r"<code data-token>(fo_[^<]+)</code>", created.content.decode())[1]
    assert token_authenticate(secret).user == users["finance"]
    listed = client.get(url()).content.decode()
    assert "warehouse sync" in listed and secret not in listed and "finance@acme.test" in listed
    with tenant_context(org):
        token = ApiToken.objects.get(name="warehouse sync")
    client.post(url("revoke", pk=token.pk))
    with tenant_context(org):
        assert ApiToken.objects.get(pk=token.pk).revoked_at is not None
    assert "revoked" in client.get(url()).content.decode()


def test_a_bad_form_keeps_what_was_typed_and_only_admins_open_the_page(client, users, org):
    client.force_login(users["admin"])
    bad = client.post(url(), {"name": "nightly", "user": users["finance"].pk, "scopes": [],
                              "expires": "2020-01-01"})
    assert bad.status_code == 400 and 'value="nightly"' in bad.content.decode()
    for role in ("finance", "director", "viewer"):
        client.force_login(users[role])
        assert client.get(url()).status_code in (403, 404)
        assert "API tokens" not in client.get(reverse("org:settings", kwargs={"org_slug": "acme"})).content.decode()
