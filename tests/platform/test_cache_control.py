"""Pages and downloads with financial data are never stored by a browser or a proxy: every
response under /o/<slug>/ and every attachment says `Cache-Control: no-store, private`."""

from __future__ import annotations

import pytest
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import reverse

from finops.caching import PrivateResponsesMiddleware
from tests.builders import member
from tests.platform.planted import FOREIGN_KWARGS, plant


def private(response) -> bool:
    directives = {d.strip() for d in response.get("Cache-Control", "").split(",")}
    return {"no-store", "private"} <= directives


EXPORTS = [  # (url name, query): the downloads, in every format they come in
    ("ledger:journal_export", "?format=csv"),
    ("ledger:journal_export", "?format=xlsx"),
    ("ledger:import_template", ""),
    ("ledger:import_errors", "?format=csv"),
    ("budgets:version_template", "?format=csv"),
    ("budgets:version_template", "?format=xlsx"),
    ("budgets:variance", "?format=csv"),
    ("budgets:variance", "?format=xlsx"),
    ("budgets:consolidated", "?format=csv"),
    ("budgets:consolidated", "?format=xlsx"),
    ("budgets:alert_inbox", "?format=csv"),
    ("budgets:alert_inbox", "?format=xlsx"),
    ("budgets:transfers_export", "?format=csv"),
    ("budgets:transfers_export", "?format=xlsx"),
    ("org:audit", "?format=csv"),
    ("org:audit", "?format=xlsx"),
]


def test_every_organisation_page_and_export_says_no_store(client, org):
    planted = plant(org, "CACHE-1")
    client.force_login(member(org, role="admin").user)
    seen, failures = 0, []
    requests = [(name, "") for name in FOREIGN_KWARGS] + EXPORTS
    for name, query in requests:
        url = reverse(name, kwargs={"org_slug": org.slug, **FOREIGN_KWARGS[name](planted)}) + query
        for response in (client.get(url), client.get(url, headers={"HX-Request": "true"})):
            seen += 1
            if not private(response):
                failures.append((url, response.status_code, response.get("Cache-Control")))
    assert failures == []
    assert seen == 2 * len(requests)


def test_the_downloads_are_attachments_and_stay_private(client, org):
    planted = plant(org, "CACHE-2")
    client.force_login(member(org, role="admin").user)
    for name, query in EXPORTS:
        url = reverse(name, kwargs={"org_slug": org.slug, **FOREIGN_KWARGS[name](planted)}) + query
        response = client.get(url)
        assert (response.status_code, response["Content-Disposition"].startswith("attachment;"), private(response)) \
            == (200, True, True), url


def test_a_download_anywhere_is_private_and_other_public_pages_are_left_alone(client):
    middleware = PrivateResponsesMiddleware(lambda request: attachment)
    attachment = HttpResponse(b"a,b\r\n", content_type="text/csv")
    attachment["Content-Disposition"] = 'attachment; filename="x.csv"'

    assert private(middleware(RequestFactory().get("/somewhere/x.csv")))
    static = client.get("/static/css/app.css")
    assert static.status_code == 200 and not private(static)  # a stylesheet may be cached


@pytest.mark.parametrize("path", ["/o/acme/ledger/journal/", "/o/nowhere/"])
def test_even_the_sign_in_redirect_and_the_not_found_of_an_organisation_path_are_private(client, path, org):
    assert private(client.get(path))
