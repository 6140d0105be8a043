"""The API's walls and conventions: tokens (hashed, scoped, revocable, expiring, acting as a
member), problem details for every error, cursor pages, idempotent POSTs, rate limits, and one
organisation's token reaching nothing of another's."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from finops.api.models import ApiToken
from finops.api.tokens import token_authenticate, token_hash, token_revoke
from finops.audit.models import AuditEvent
from finops.errors import DomainError, NotAllowed
from finops.ledger.models import JournalEntry
from finops.tenancy.context import tenant_context
from finops.tenancy.models import Membership
from finops.tenancy.services import member_remove
from tests.api.conftest import Api, make_token

ENTRY = {"entity": "US", "date": "2026-03-10", "memo": "Usage March", "reference": "OPS-1",
         "lines": [{"account": "1000", "amount": "125.50"}, {"account": "4000", "amount": "-125.50",
                                                             "cost_center": "SALES"}]}


def test_a_token_is_shown_once_stored_hashed_and_acts_as_its_member(books, users):
    raw = make_token(books.org, users["finance"], name="warehouse sync")
    with tenant_context(books.org):
        token = ApiToken.objects.get(name="warehouse sync")
    assert raw.startswith("fo_") and token.token_hash == token_hash(raw) and raw not in str(token.__dict__)
    assert raw.startswith(token.prefix) and token.scopes == ["read", "write"]
    caller = token_authenticate(raw)
    assert (caller.tenant.slug, caller.user.email, caller.role) == ("acme", "finance@acme.test", "finance")
    with tenant_context(books.org):
        assert ApiToken.objects.get(pk=token.pk).last_used_at is not None
        event = AuditEvent.objects.get(action="api_token.create")
    assert event.after == {"name": "warehouse sync", "scopes": ["read", "write"], "user": "finance@acme.test",
                           "expires_at": None}


def test_only_an_admin_creates_tokens_and_the_choices_are_checked(books, users):
    from finops.api.tokens import token_create

    with pytest.raises(NotAllowed):
        token_create(tenant=books.org, actor=users["finance"], name="x", user=users["finance"], scopes=["read"])
    for kwargs, message in (({"scopes": ["admin"]}, "Unknown scope admin"), ({"scopes": []}, "at least one scope"),
                            ({"name": " "}, "Name the token"),
                            ({"expires_at": timezone.now() - timedelta(days=1)}, "in the past")):
        with pytest.raises(DomainError, match=message):
            token_create(tenant=books.org, actor=users["admin"], **{"name": "t", "user": users["viewer"],
                                                                    "scopes": ["read"], **kwargs})
    make_token(books.org, users["viewer"], name="dup")
    with pytest.raises(DomainError, match="exists already"):
        make_token(books.org, users["viewer"], name="dup")


def test_missing_unknown_revoked_expired_and_orphaned_tokens_get_401_problems(client, books, users):
    assert client.get("/api/v1/entities").status_code == 401
    body = client.get("/api/v1/entities").json()
    assert body["type"].endswith("/not-authenticated") and body["status"] == 401
    assert Api(client, "fo_nope").get("/entities").json()["detail"] == "This API token is not known."
    raw = make_token(books.org, users["finance"], name="soon gone")
    with tenant_context(books.org):
        token = ApiToken.objects.get(name="soon gone")
    token_revoke(tenant=books.org, actor=users["admin"], token=token)
    assert Api(client, raw).get("/entities").json()["detail"] == "This API token was revoked."
    expired = make_token(books.org, users["finance"], name="short", expires_at=timezone.now() + timedelta(seconds=1))
    assert Api(client, expired).get("/entities").status_code == 200
    with tenant_context(books.org):
        ApiToken.objects.filter(name="short").update(expires_at=timezone.now() - timedelta(minutes=1))
    response = Api(client, expired).get("/entities")
    assert response.status_code == 401 and response.json()["detail"].startswith("This API token expired on ")
    leaver = make_token(books.org, users["director"], name="leaver")
    with tenant_context(books.org):
        membership = Membership.objects.get(user=users["director"])
    member_remove(tenant=books.org, actor=None, membership=membership)
    assert Api(client, leaver).get("/entities").json()["detail"] == (
        "director@acme.test, whom this token acts as, is no longer a member.")


def test_a_read_token_cannot_write_and_the_members_role_still_decides(reader_api, viewer_api, books):
    response = reader_api.post("/journal-entries", ENTRY)
    assert response.status_code == 403 and response["Content-Type"] == "application/problem+json"
    assert response.json()["detail"] == "The token “reader” may only read: its scopes are read."
    refused = viewer_api.post("/journal-entries", ENTRY)  # write scope, but a viewer may not post
    assert refused.status_code == 403 and "only roles that may change the books" in refused.json()["detail"]
    with tenant_context(books.org):
        assert JournalEntry.objects.count() == 0


def test_posting_through_the_api_is_audited_with_the_tokens_name(finance_api, books):
    response = finance_api.post("/journal-entries", ENTRY)
    assert response.status_code == 201, response.content
    entry = response.json()
    assert (entry["entity"], entry["date"], entry["period"], entry["source"]) == ("US", "2026-03-10", "2026-03", "api")
    assert [(x["account"], x["cost_center"], x["amount"]) for x in entry["lines"]] == [
        ("1000", None, {"amount": "125.50", "currency": "USD"}), ("4000", "SALES", {"amount": "-125.50",
                                                                                    "currency": "USD"})]
    with tenant_context(books.org):
        event = AuditEvent.objects.get(action="api.write")
    assert event.actor_label == "finance@acme.test via API token “finance@acme.test read+write”"
    assert (event.object_repr, event.after) == ("POST /api/v1/journal-entries", {
        "status": 201, "token": "finance@acme.test read+write", "idempotency_key": None})


def test_malformed_and_wrong_bodies_are_problems_with_pointers_never_500(finance_api):
    for raw in (b"{", b"[]", b"null", b'"text"', b"\xff\xfe", b'{"entity": 5}'):
        response = finance_api.post("/journal-entries", raw=raw)
        assert response.status_code in (400, 422), (raw, response.status_code, response.content)
        assert response["Content-Type"] == "application/problem+json"
    bad = finance_api.post("/journal-entries", {**ENTRY, "date": "2026-02-30",
                                                 "lines": [{"account": "1000", "amount": "ten"}, {"amount": "1"}]})
    assert bad.status_code == 422
    pointers = [e["pointer"] for e in bad.json()["errors"]]
    assert pointers == ["#/date", "#/lines/0/amount", "#/lines/1/account"]
    unknown = finance_api.post("/journal-entries", {**ENTRY, "lines": [{"account": "9999", "amount": "1"},
                                                                        {"account": "4000", "amount": "-1"}]})
    assert unknown.status_code == 422 and unknown.json()["errors"] == [
        {"pointer": "#/lines/0/account", "detail": "no account has the code '9999'"}]
    unbalanced = finance_api.post("/journal-entries", {**ENTRY, "lines": [{"account": "1000", "amount": "1"},
                                                                           {"account": "4000", "amount": "-2"}]})
    assert unbalanced.status_code == 422 and "balance" in unbalanced.json()["detail"]
    assert finance_api.get("/journal-entries/999999").status_code == 404
    assert finance_api.get("/journal-entries/abc").status_code == 422
    assert finance_api.get("/accounts", {"limit": "0"}).json()["errors"] == [
        {"pointer": "#/limit", "detail": "must be between 1 and 200"}]
    assert finance_api.get("/accounts", {"cursor": "@@@"}).status_code == 422


def test_what_a_lenient_reading_would_lose_or_invent_is_refused_with_a_pointer(finance_api, client):
    def problems(response):
        assert response.status_code == 422, response.content
        return [(e["pointer"], e["detail"]) for e in response.json()["errors"]]

    line = {"account": "1000", "amount": "1"}
    # a JSON number may have lost digits already: money is a decimal string
    assert problems(finance_api.post("/journal-entries", {**ENTRY, "lines": [
        {"account": "1000", "amount": 12345678901234567.89}, {"account": "4000", "amount": "-1"}]})) == [
        ("#/lines/0/amount", 'write it as a decimal string, e.g. "1234.50" (a JSON number may have lost digits)')]
    # a typo'd field would post the line without its cost center
    assert problems(finance_api.post("/journal-entries", {**ENTRY, "lines": [
        {**line, "cost_centre": "OPS"}, {"account": "4000", "amount": "-1"}]})) == [
        ("#/lines/0/cost_centre", "Extra inputs are not permitted")]
    # a number is not a date (pydantic would read 0 as 1 January 1970), 0 is not false
    assert problems(finance_api.post("/journal-entries", {**ENTRY, "date": 0})) == [
        ("#/date", "write the date as YYYY-MM-DD")]
    assert problems(finance_api.get("/journal-entries", {"date_to": "0"})) == [("#/date_to", "write the date as YYYY-MM-DD")]
    assert problems(finance_api.post("/accounts", {"code": "1999", "name": "X", "type": "asset",
                                                   "is_intercompany": 0}))[0][0] == "#/is_intercompany"
    # a misspelt or repeated filter would answer for everything, or for one of the values
    assert problems(finance_api.get("/journal-entries", {"entitiy": "US"})) == [
        ("#/entitiy", "is not a parameter of this operation (it takes: cursor, date_from, date_to, entity, limit, "
                      "source)")]
    assert problems(finance_api.get("/fx-rates", {"to_currency": ["EUR", "GBP"]})) == [
        ("#/to_currency", "takes one value, given more than once")]
    # no text column keeps U+0000
    assert problems(finance_api.post("/cost-centers", {"code": "X", "name": "a\u0000b"})) == [
        ("#", "text may not contain the NUL character (\\u0000)")]
    assert problems(finance_api.get("/journal-entries", {"entity": "U\x00S"})) == [
        ("#/entity", "may not contain the NUL character")]
    assert problems(finance_api.post("/journal-entries", {**ENTRY, "entity": ""}))[0][0] == "#/entity"
    # a method the path does not take is 405 with the methods it does (RFC 9110)
    refused = client.put("/api/v1/accounts", HTTP_AUTHORIZATION=f"Bearer {finance_api.token}")
    assert refused.status_code == 405 and sorted(refused["Allow"].split(", ")) == ["GET", "POST"]
    assert refused["Content-Type"] == "application/problem+json"


def test_the_same_idempotency_key_replays_and_another_body_is_409(finance_api, books):
    first = finance_api.post("/journal-entries", ENTRY, **{"Idempotency-Key": "k-1"})
    again = finance_api.post("/journal-entries", ENTRY, **{"Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    assert again["Idempotent-Replayed"] == "true"
    other = finance_api.post("/journal-entries", {**ENTRY, "memo": "other"}, **{"Idempotency-Key": "k-1"})
    assert other.status_code == 409 and "another request" in other.json()["detail"]
    with tenant_context(books.org):
        assert JournalEntry.objects.count() == 1
    fresh = finance_api.post("/journal-entries", ENTRY, **{"Idempotency-Key": "k-2"})
    assert fresh.status_code == 201 and fresh.json()["id"] != first.json()["id"]


def test_a_token_over_its_rate_limit_gets_429_with_retry_after(finance_api, settings):
    settings.API_RATE_LIMIT = 3
    codes = [finance_api.get("/entities").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    limited = finance_api.get("/entities")
    assert 1 <= int(limited["Retry-After"]) <= 60 and limited.json()["type"].endswith("/rate-limited")


def test_pages_follow_the_cursor_to_the_end(finance_api, books):
    from finops.ledger import services as ledger

    for i in range(5):
        ledger.account_save(tenant=books.org, actor=None, code=f"7{i:03d}", name=f"Travel {i}", type="expense")
    seen, cursor, pages = [], None, 0
    while True:
        body = finance_api.get("/accounts", {"limit": 3, **({"cursor": cursor} if cursor else {})}).json()
        seen += [a["code"] for a in body["data"]]
        pages += 1
        cursor = body["next"]
        if cursor is None:
            break
    assert seen == ["1000", "2000", "4000", "6100", "6200", "7000", "7001", "7002", "7003", "7004"] and pages == 4


def test_another_organisations_token_reaches_nothing_of_this_one(client, books, other_books, users):
    from django.contrib.auth import get_user_model

    theirs = Api(client, make_token(other_books.org, get_user_model().objects.get(email="finance@globex.test")))
    mine = Api(client, make_token(books.org, users["finance"]))
    entry = mine.post("/journal-entries", ENTRY).json()
    assert theirs.get(f"/journal-entries/{entry['id']}").status_code == 404
    assert theirs.post(f"/journal-entries/{entry['id']}/reverse", {}).status_code == 404
    assert [e["id"] for e in theirs.get("/journal-entries").json()["data"]] == []
    assert {e["code"] for e in theirs.get("/entities").json()["data"]} == {"US", "UK"}
    assert [e["id"] for e in theirs.get("/entities").json()["data"]] != [e["id"] for e in mine.get("/entities").json()["data"]]


def test_the_schema_and_docs_need_no_token_and_describe_problems(client):
    schema = client.get("/api/v1/openapi.json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert {"/api/v1/entities", "/api/v1/journal-entries", "/api/v1/actuals"} <= set(paths)
    assert schema.json()["components"]["securitySchemes"]["TokenAuth"]["scheme"] == "bearer"
    docs = client.get("/api/v1/docs")
    assert docs.status_code == 200 and b"swagger-ui" in docs.content and b"cdn." not in docs.content


def test_create_api_token_prints_the_token_alone_on_its_last_line(books, users):
    out = io.StringIO()
    call_command("create_api_token", "--org", "acme", "--name", "ops sync", "--scopes", "read,write", stdout=out)
    lines = out.getvalue().strip().splitlines()
    assert lines[0] == "Created API token “ops sync” for acme: acts as admin@acme.test (admin), scopes read, write."
    assert token_authenticate(lines[-1]).token.name == "ops sync"


def test_the_runtime_role_sees_a_token_row_only_by_its_hash_or_within_its_organisation(books, users, other_books):
    raw = make_token(books.org, users["finance"], name="hidden")
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM api_apitoken")
        assert cursor.fetchone()[0] == 0  # no tenant, no hash: nothing
    with tenant_context(other_books.org), connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM api_apitoken")
        assert cursor.fetchone()[0] == 0
    assert token_authenticate(raw).token.name == "hidden"


def test_stored_idempotent_answers_are_dropped_after_a_day(finance_api, books):
    from finops.api.models import IdempotentResponse
    from finops.api.tasks import idempotent_responses_expire

    finance_api.post("/journal-entries", ENTRY, **{"Idempotency-Key": "old"})
    finance_api.post("/journal-entries", {**ENTRY, "memo": "new"}, **{"Idempotency-Key": "new"})
    with tenant_context(books.org):
        IdempotentResponse.objects.filter(key="old").update(created_at=timezone.now() - timedelta(days=2))
    assert idempotent_responses_expire() == 1
    with tenant_context(books.org):
        assert list(IdempotentResponse.objects.values_list("key", flat=True)) == ["new"]
