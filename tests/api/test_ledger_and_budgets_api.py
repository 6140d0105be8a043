"""The ledger's and budgets' resources over the API: the same figures as the pages, exactly."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest
import time_machine
from django.urls import reverse

from budgets import services
from budgets.alerts.evaluation import alerts_evaluate
from budgets.alerts.rules import ThresholdSpec, alert_rule_create
from budgets.reports import budget_vs_actual
from finops.ledger import services as ledger
from finops.ledger.services import LineSpec
from tests.api.conftest import Api, make_token


def book(books, d, account, amount, *, cc=None, entity=None):
    ledger.journal_post(tenant=books.org, actor=None, entity=entity or books.usd, date=d, lines=[
        LineSpec(account.pk, D(amount), cc.pk if cc else None), LineSpec(books.cash.pk, -D(amount))])


@pytest.fixture
def plan(books, users, budget, periods, draft):
    services.budget_lines_set(tenant=books.org, actor=None, version=draft, cells=[
        (books.revenue, None, periods[2], D("1000")), (books.rent, books.ops, periods[2], D("310")),
        (books.rent, books.ops, periods[3], D("300"))])
    services.version_submit(tenant=books.org, actor=users["finance"], version=draft)
    services.version_approve(tenant=books.org, actor=users["admin"], version=draft)
    book(books, date(2026, 3, 5), books.rent, "340", cc=books.ops)
    book(books, date(2026, 3, 15), books.revenue, "-1100")
    book(books, date(2026, 3, 20), books.software, "80", cc=books.sales)
    return draft


def test_journal_entries_post_get_list_and_reverse(finance_api, books):
    posted = finance_api.post("/journal-entries", {
        "entity": "UK", "date": "2026-03-10", "memo": "Hosting", "lines": [
            {"account": "6200", "amount": "100", "currency": "USD", "cost_center": "OPS"},
            {"account": "1000", "amount": "-100", "currency": "USD"}]}).json()
    # 100 USD at the March rate of GBP 1.27 → USD: 100 / 1.27 = 78.74 GBP
    assert [(x["amount"], x["transaction_amount"], x["rate"]) for x in posted["lines"]] == [
        ({"amount": "78.74", "currency": "GBP"}, {"amount": "100.00", "currency": "USD"}, "0.7874015748"),
        ({"amount": "-78.74", "currency": "GBP"}, {"amount": "-100.00", "currency": "USD"}, "0.7874015748")]
    assert finance_api.get(f"/journal-entries/{posted['id']}").json() == posted
    reversal = finance_api.post(f"/journal-entries/{posted['id']}/reverse", {"memo": "booked twice"})
    assert reversal.status_code == 201
    body = reversal.json()
    assert (body["reverses"], body["source"], [x["amount"]["amount"] for x in body["lines"]]) == (
        posted["id"], "reversal", ["-78.74", "78.74"])
    again = finance_api.post(f"/journal-entries/{posted['id']}/reverse", {})
    assert again.status_code == 422 and "reversed" in again.json()["detail"]
    listed = finance_api.get("/journal-entries", {"entity": "UK"}).json()
    assert [e["id"] for e in listed["data"]] == [body["id"], posted["id"]] and listed["next"] is None


def test_actuals_in_natural_sign_by_account_and_month_and_translated(finance_api, books, plan):
    body = finance_api.get("/actuals", {"entity": "US", "group_by": ["account", "month"]}).json()
    assert [(r["account"], r["month"], r["amount"]["amount"]) for r in body["data"]
            if r["account_type"] in ("revenue", "expense")] == [
        ("4000", "2026-03", "1100.00"), ("6100", "2026-03", "340.00"), ("6200", "2026-03", "80.00")]
    bad = finance_api.get("/actuals", {"group_by": "colour"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["pointer"] == "#/group_by"


def test_a_filter_that_cannot_match_is_refused_not_answered_empty(finance_api, plan):
    """`?account=` or `?currency=false` once answered 200 with no rows, as if the books were empty."""
    for path, params, pointer in (("/actuals", {"account": ""}, "#/account/0"),
                                  ("/actuals", {"cost_center": ["OPS", ""]}, "#/cost_center/1"),
                                  ("/actuals", {"currency": "false"}, "#/currency"),
                                  ("/actuals", {"currency": "US"}, "#/currency"),
                                  ("/fx-rates", {"to_currency": "ZZZ"}, "#/to_currency"),
                                  ("/fx-rates", {"kind": "spot"}, "#/kind"),
                                  (f"/budget-versions/{plan.pk}/budget-vs-actual", {"account_type": "asset"},
                                   "#/account_type")):
        response = finance_api.get(path, params)
        assert response.status_code == 422, (path, params)
        assert [e["pointer"] for e in response.json()["errors"]] == [pointer], (path, params)
    assert finance_api.get("/actuals", {"currency": "eur", "group_by": "month"}).status_code == 200
    refused = finance_api.post("/fx-rates", {"date": "2026-05-01", "from_currency": "EURO", "to_currency": "USD",
                                             "rate": "1.1"})
    assert refused.status_code == 422 and [(e["pointer"], e["detail"]) for e in refused.json()["errors"]] == [
        ("#/from_currency", "is not an ISO 4217 currency code (USD, EUR, …)")]


def test_budget_vs_actual_has_the_pages_figures_paced_to_the_date(finance_api, books, plan, client, users):
    with time_machine.travel(date(2026, 3, 10)):
        body = finance_api.get(f"/budget-versions/{plan.pk}/budget-vs-actual", {"month": "2026-03"}).json()
        service = budget_vs_actual(tenant=books.org, version=plan, period=date(2026, 3, 1))
        client.force_login(users["viewer"])
        page = client.get(reverse("budgets:variance", kwargs={"org_slug": "acme", "pk": plan.pk}),
                          {"month": "2026-03"})
    assert body["paced"] is True and body["basis_words"] == service.basis_words == page.context["report"].basis_words
    rent = next(r for r in body["rows"] if r["account"] == "6100")
    # 310 × 10 / 31 = 100.00 paced; 340 against it
    assert (rent["actual"], rent["compared_with"], rent["budget"], rent["variance"], rent["favourable"]) == (
        {"amount": "340.00", "currency": "USD"}, {"amount": "100.00", "currency": "USD"},
        {"amount": "310.00", "currency": "USD"}, {"amount": "240.00", "currency": "USD"}, False)
    assert [(t["label"], t["actual"]["amount"]) for t in body["totals"]] == [
        ("Revenue", "1100.00"), ("Expense", "420.00"), ("Net result", "680.00")]
    assert [(r["account"], r["cost_center"]) for r in body["rows"]] == [
        (r.account_code, r.cost_center_code) for r in service.rows]


def test_budget_vs_actual_pages_and_refuses_bad_choices(finance_api, plan):
    first = finance_api.get(f"/budget-versions/{plan.pk}/budget-vs-actual",
                            {"month": "2026-03", "limit": 2, "sort": "-actual"}).json()
    assert [r["account"] for r in first["rows"]] == ["4000", "6100"] and first["next"]
    second = finance_api.get(f"/budget-versions/{plan.pk}/budget-vs-actual",
                             {"month": "2026-03", "limit": 2, "sort": "-actual", "cursor": first["next"]}).json()
    assert [r["account"] for r in second["rows"]] == ["6200"] and second["next"] is None
    assert first["totals"] == second["totals"]
    for params, pointer in (({"sort": "colour"}, "#/sort"), ({"month": "March"}, "#/month"),
                            ({"basis": "decade"}, "#/basis"), ({"limit": 500}, "#/limit")):
        response = finance_api.get(f"/budget-versions/{plan.pk}/budget-vs-actual", params)
        assert response.status_code == 422 and response.json()["errors"][0]["pointer"] == pointer, params
    outside = finance_api.get(f"/budget-versions/{plan.pk}/budget-vs-actual", {"month": "2027-03"})
    assert outside.status_code == 422 and "fiscal year" in outside.json()["detail"]


def test_budgets_and_lines(finance_api, plan):
    budgets = finance_api.get("/budgets").json()["data"]
    assert budgets == [{"id": plan.budget_id, "name": "Plan 2026", "entity": "US", "currency": "USD",
                        "fiscal_year": 2026, "latest_version": 1, "in_force_version": plan.pk}]
    detail = finance_api.get(f"/budgets/{plan.budget_id}").json()
    assert [(v["number"], v["status"]) for v in detail["versions"]] == [(1, "approved")]
    lines = finance_api.get(f"/budget-versions/{plan.pk}/lines").json()["data"]
    assert [(x["account"], x["cost_center"], x["month"], x["amount"]["amount"]) for x in lines] == [
        ("4000", None, "2026-03", "1000.00"), ("6100", "OPS", "2026-03", "310.00"), ("6100", "OPS", "2026-04", "300.00")]


def test_alerts_are_listed_and_acknowledged_as_on_the_page(client, books, users, plan, budget):
    alert_rule_create(tenant=books.org, actor=users["finance"], budget=budget, name="Over", account_type="expense",
                      recipient_roles=["director"],
                      thresholds=[ThresholdSpec("consumed_pct", D("100"))])
    alerts_evaluate(tenant=books.org, as_of=date(2026, 3, 31))
    viewer = Api(client, make_token(books.org, users["viewer"], name="viewer"))
    director = Api(client, make_token(books.org, users["director"], name="director"))
    listed = viewer.get("/alerts").json()["data"]
    assert [(a["account"], a["cost_center"], a["month"], a["consumed_pct"], a["status"]) for a in listed] == [
        ("6100", "OPS", "2026-03", "109.68", "open")]
    refused = viewer.post(f"/alerts/{listed[0]['id']}/acknowledge", {"note": "seen"})
    assert refused.status_code == 403
    done = director.post(f"/alerts/{listed[0]['id']}/acknowledge", {"note": "rent paid early"}).json()
    assert (done["status"], done["acknowledged_by"], done["note"]) == ("acknowledged", "director@acme.test",
                                                                       "rent paid early")
    assert viewer.get("/alerts").json()["data"] == []
    assert [a["id"] for a in viewer.get("/alerts", {"status": "all"}).json()["data"]] == [listed[0]["id"]]


def test_another_organisations_budgets_and_alerts_are_404(client, books, other_books, plan):
    from django.contrib.auth import get_user_model

    theirs = Api(client, make_token(other_books.org, get_user_model().objects.get(email="finance@globex.test")))
    for path in (f"/budgets/{plan.budget_id}", f"/budget-versions/{plan.pk}/lines",
                 f"/budget-versions/{plan.pk}/budget-vs-actual"):
        response = theirs.get(path)
        assert response.status_code == 404 and response["Content-Type"] == "application/problem+json", path
    assert theirs.get("/budgets").json()["data"] == []


def test_a_director_requests_a_transfer_and_finance_approves_it(client, books, users, plan, other_books):
    from django.contrib.auth import get_user_model

    director = Api(client, make_token(books.org, users["director"], name="director"))
    finance = Api(client, make_token(books.org, users["finance"], name="finance"))
    body = {"version": plan.pk, "amount": "60.00", "reason": "Rent moves to March",
            "source": {"account": "6100", "cost_center": "OPS", "month": "2026-04"},
            "destination": {"account": "6100", "cost_center": "OPS", "month": "2026-03"}}
    created = director.post("/transfer-requests", body)
    assert created.status_code == 201, created.content
    transfer = created.json()
    assert (transfer["status"], transfer["source"], transfer["destination"], transfer["amount"], transfer["requested_by"]) == (
        "requested", "6100 / OPS / 2026-04", "6100 / OPS / 2026-03", {"amount": "60.00", "currency": "USD"},
        "director@acme.test")
    assert director.post(f"/transfer-requests/{transfer['id']}/approve", {}).status_code == 403
    approved = finance.post(f"/transfer-requests/{transfer['id']}/approve", {"comment": "ok"}).json()
    assert (approved["status"], approved["decided_by"], approved["decision_comment"]) == (
        "approved", "finance@acme.test", "ok")
    assert [t["id"] for t in finance.get("/transfer-requests", {"status": "approved"}).json()["data"]] == [transfer["id"]]
    # Effective amounts moved: budget vs actual for March reads 310 + 60 = 370 for the rent.
    report = finance.get(f"/budget-versions/{plan.pk}/budget-vs-actual", {"month": "2026-03"}).json()
    assert next(r for r in report["rows"] if r["account"] == "6100")["budget"]["amount"] == "370.00"
    cross = director.post("/transfer-requests", {**body, "destination": {"account": "4000", "month": "2026-03"}})
    assert cross.status_code == 422
    bad = director.post("/transfer-requests", {**body, "source": {"account": "6100", "month": "2031-01"}})
    assert bad.status_code == 422 and bad.json()["errors"][0]["pointer"] == "#/source/month"
    theirs = Api(client, make_token(other_books.org, get_user_model().objects.get(email="director@globex.test")))
    assert theirs.post("/transfer-requests", body).status_code == 404  # another organisation's version


def test_gl_lines_import_all_or_nothing_with_each_bad_row_pointed_at(finance_api, books):
    from finops.ledger.models import JournalEntry
    from finops.tenancy.context import tenant_context

    lines = [{"date": "2026-03-31", "entry_ref": f"USAGE-{i}", "entity": "US", "account": account,
              "cost_center": cc, "amount": amount}
             for i in range(3) for account, cc, amount in (("1000", None, "10.00"), ("4000", "SALES", "-10.00"))]
    bad = [*lines, {"date": "2026-13-01", "entry_ref": "X", "entity": "US", "account": "9999", "amount": "1"}]
    refused = finance_api.post("/gl-imports", {"lines": bad})
    assert refused.status_code == 422
    assert [e["pointer"] for e in refused.json()["errors"]][0] == "#/lines/6"
    with tenant_context(books.org):
        assert JournalEntry.objects.count() == 0  # nothing of the good lines either
    done = finance_api.post("/gl-imports", {"lines": lines})
    assert done.status_code == 201, done.content
    assert (done.json()["status"], done.json()["rows"], done.json()["created"]) == ("succeeded", 6, 3)
    job = finance_api.get(f"/gl-imports/{done.json()['job']}").json()
    assert (job["status"], job["created"], job["errors"]) == ("succeeded", 3, [])
    again = finance_api.post("/gl-imports", {"lines": lines})
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    too_many = finance_api.post("/gl-imports", {"lines": lines * 1700})
    assert too_many.status_code == 422 and "at most 10,000" in too_many.json()["detail"]


def test_a_gl_file_upload_becomes_a_job_to_poll(client, finance_api, books):
    csv = (b"date,entry_ref,entity,account,cost_center,amount,currency,memo\n"
           b"2026-03-14,F-1,US,6100,OPS,10.00,USD,Rent\n2026-03-14,F-1,US,1000,,-10.00,USD,Rent\n")
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = client.post("/api/v1/gl-imports/file", {"file": SimpleUploadedFile("march.csv", csv)},
                           HTTP_AUTHORIZATION=f"Bearer {finance_api.token}")
    assert response.status_code == 202, response.content
    job = response.json()
    assert job["status"] == "queued" and job["job"]
    from finops.ledger.importers import import_job_run

    import_job_run(tenant=books.org, job_id=job["job"])  # what the worker does (tests/ledger/test_import_worker.py)
    polled = finance_api.get(f"/gl-imports/{job['job']}").json()
    assert (polled["status"], polled["created"], polled["rows"]) == ("succeeded", 1, 2)


def test_finance_adds_accounts_cost_centers_and_rates_a_viewer_may_not(finance_api, viewer_api, books):
    account = finance_api.post("/accounts", {"code": "6300", "name": "Travel", "type": "expense", "parent": "6100"})
    assert account.status_code == 201, account.content
    assert (account.json()["code"], account.json()["type"], account.json()["parent_id"]) == ("6300", "expense",
                                                                                              books.rent.pk)
    assert finance_api.post("/accounts", {"code": "6300", "name": "Again", "type": "expense"}).status_code == 422
    assert finance_api.post("/accounts", {"code": "6400", "name": "X", "type": "colour"}).json()["errors"][0][
        "pointer"] == "#/type"
    center = finance_api.post("/cost-centers", {"code": "MKT", "name": "Marketing", "parent": "OPS"}).json()
    assert (center["code"], center["parent_id"]) == ("MKT", books.ops.pk)
    rate = finance_api.post("/fx-rates", {"date": "2026-05-17", "from_currency": "eur", "to_currency": "USD",
                                          "rate": "1.0921", "kind": "budget"}).json()
    assert (rate["date"], rate["from_currency"], rate["rate"], rate["kind"]) == ("2026-01-01", "EUR", "1.0921", "budget")
    too_fine = finance_api.post("/fx-rates", {"date": "2026-05-01", "from_currency": "EUR", "to_currency": "USD",
                                              "rate": "1.00000000001"})
    assert too_fine.status_code == 422 and "more than 10 decimals" in too_fine.json()["detail"]
    refused = viewer_api.post("/accounts", {"code": "6500", "name": "Y", "type": "expense"})
    assert refused.status_code == 403


def test_finance_changes_accounts_and_cost_centers_by_code_with_the_pages_rules(finance_api, viewer_api, client,
                                                                               books, other_books, users):
    book(books, date(2026, 3, 5), books.rent, "340", cc=books.ops)
    renamed = finance_api.patch("/accounts/6100", {"name": "Rent and rates", "parent": None})
    assert renamed.status_code == 200, renamed.content
    assert {k: renamed.json()[k] for k in ("code", "name", "type", "parent_id", "active")} == {
        "code": "6100", "name": "Rent and rates", "type": "expense", "parent_id": None, "active": True}
    # the service's rule: the type of an account with postings stays
    retyped = finance_api.patch("/accounts/6100", {"type": "asset"})
    assert retyped.status_code == 422 and retyped.json()["detail"] == "Account 6100 has postings: its type cannot change."
    assert finance_api.patch("/accounts/6100", {"name": None}).json()["errors"] == [
        {"pointer": "#/name", "detail": "may not be null: leave it out to keep it"}]
    assert finance_api.patch("/accounts/6100", {"parent": "nope"}).json()["errors"] == [
        {"pointer": "#/parent", "detail": "no account has the code 'nope'"}]
    closed = finance_api.patch("/cost-centers/SALES", {"active": False, "parent": "OPS"}).json()
    assert (closed["code"], closed["active"], closed["parent_id"]) == ("SALES", False, books.ops.pk)
    assert finance_api.patch("/cost-centers/OPS", {"parent": "SALES"}).json()["detail"] == (
        "A cost center cannot be its own ancestor.")
    assert finance_api.patch("/accounts/0000", {"name": "X"}).status_code == 404
    assert viewer_api.patch("/accounts/6100", {"name": "X"}).status_code == 403
    from django.contrib.auth import get_user_model

    globex = Api(client, make_token(other_books.org, get_user_model().objects.get(email="admin@globex.test")))
    assert globex.patch("/accounts/6100", {"name": "Globex rent"}).json()["name"] == "Globex rent"  # its own
    from finops.tenancy.context import tenant_context

    with tenant_context(books.org):
        books.rent.refresh_from_db()
    assert books.rent.name == "Rent and rates"
