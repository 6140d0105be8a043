"""Budget import (CSV, XLSX) and the `import_budget` command: all or nothing, each bad row named."""

from __future__ import annotations

import hashlib
import io
import re
import subprocess
import sys
from decimal import Decimal as D

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from budgets import services
from budgets.importers import budget_import
from budgets.models import Budget, BudgetLine, BudgetVersion
from finops.audit.models import AuditEvent
from finops.tenancy.context import tenant_context
from tests.local_servers import child_env

HEADER = "entity,account,cost_center,period,amount"
GOOD = [
    "US,4000,,2026-01,1000.00",
    "US,4000,,2026-02,1100",
    "US,6100,OPS,2026-01,250.50",
    "us,6200,sales,2026-12,\"1,200.00\"",
]


def csv_file(*lines: str, header: str = HEADER) -> bytes:
    return ("\n".join([header, *lines]) + "\n").encode()


def run(books, data: bytes, name: str = "Plan 2026", filename: str = "budget.csv"):
    return budget_import(tenant=books.org, actor=None, data=data, filename=filename, budget_name=name)


def state(org) -> tuple[int, int, int]:
    with tenant_context(org):
        return Budget.objects.count(), BudgetVersion.objects.count(), BudgetLine.objects.count()


def cells(org) -> dict[tuple[str, str | None, str], D]:
    with tenant_context(org):
        return {(a, c, f"{p:%Y-%m}"): x for a, c, p, x in BudgetLine.objects.values_list(
            "account__code", "cost_center__code", "period__start", "amount")}


def test_a_good_file_creates_the_budget_as_a_draft_and_its_cells(books):
    result = run(books, csv_file(*GOOD))

    assert result.errors == [] and result.budget_created
    assert (result.budget.name, result.budget.entity_id, result.budget.fiscal_year) == ("Plan 2026", books.usd.pk, 2026)
    assert (result.version.number, result.version.status) == (1, "draft")
    assert result.summary() == "4 rows into Plan 2026 v1 (new budget): 4 cells created, 0 changed, 0 unchanged."
    assert cells(books.org) == {("4000", None, "2026-01"): D("1000.0000"), ("4000", None, "2026-02"): D("1100.0000"),
                                ("6100", "OPS", "2026-01"): D("250.5000"), ("6200", "SALES", "2026-12"): D("1200.0000")}
    with tenant_context(books.org):
        event = AuditEvent.objects.get(action="budget.import")
    assert (event.after["filename"], event.after["rows"], event.after["cells_written"]) == ("budget.csv", 4, 4)
    assert "cells" not in event.after and event.before is None


def test_the_audit_row_of_an_import_is_a_summary_of_the_file_not_every_cell(books, users):
    data = csv_file(*GOOD, "US,6100,SALES,2026-03,-50.25")
    run(books, data)
    changed = csv_file("US,4000,,2026-01,1000.00", "US,4000,,2026-02,1150", "US,6100,OPS,2026-02,10")
    result = budget_import(tenant=books.org, actor=users["finance"], data=changed, filename="q1 fix.csv",
                           budget_name="plan 2026")
    assert result.summary() == "3 rows into Plan 2026 v1: 1 cells created, 1 changed, 1 unchanged."
    with tenant_context(books.org):
        first, second = AuditEvent.objects.filter(action="budget.import").order_by("id")
    assert (first.object_type, first.object_id, first.object_repr) == (
        "budgetversion", str(result.version.pk), "Plan 2026 v1")
    assert first.after == {
        "filename": "budget.csv", "sha256": hashlib.sha256(data).hexdigest(), "rows": 5, "cells_written": 5,
        "created": 5, "updated": 0, "unchanged": 0, "currency": "USD",
        "totals": {"expense": "1400.25", "revenue": "2100.00"}, "budget": "Plan 2026", "version": 1}
    assert (second.actor, second.before) == (users["finance"], None)
    assert second.after == {
        "filename": "q1 fix.csv", "sha256": hashlib.sha256(changed).hexdigest(), "rows": 3, "cells_written": 2,
        "created": 1, "updated": 1, "unchanged": 1, "currency": "USD",
        "totals": {"expense": "10.00", "revenue": "2150.00"}, "budget": "Plan 2026", "version": 1}


def test_an_import_that_changes_nothing_writes_no_audit_row(books):
    run(books, csv_file(*GOOD))
    run(books, csv_file(*GOOD))
    with tenant_context(books.org):
        assert AuditEvent.objects.filter(action="budget.import").count() == 1


def test_importing_the_same_file_again_changes_nothing(books):
    run(books, csv_file(*GOOD))
    again = run(books, csv_file(*GOOD))
    assert (again.budget_created, again.lines.created, again.lines.updated, again.lines.unchanged) == (
        False, 0, 0, 4)
    assert state(books.org) == (1, 1, 4)


def test_an_existing_budget_gets_its_cells_updated_and_keeps_the_others(books, budget):
    run(books, csv_file(*GOOD))
    result = run(books, csv_file("US,4000,,2026-01,900"))
    assert (result.budget_created, result.lines.updated) == (False, 1)
    assert cells(books.org)[("4000", None, "2026-01")] == D("900.0000") and len(cells(books.org)) == 4


def test_every_bad_row_is_named_by_its_line_and_nothing_is_written(books):
    data = csv_file(
        "US,4000,,2026-01,1000",            # 2 fine: fixes the fiscal year and the entity
        "XX,4000,,2026-02,1",               # 3 unknown entity
        "US,9999,,2026-02,1",               # 4 unknown account
        "US,6100,NOPE,2026-02,1",           # 5 unknown cost center
        "US,6100,OPS,2026-13,1",            # 6 bad period
        "US,6100,OPS,Feb 2026,1",           # 7 bad period
        "US,6100,OPS,2026-03,12,5",         # 8 bad amount (unquoted comma: too many values)
        "US,6100,OPS,2026-03,abc",          # 9 bad amount
        "US,6100,OPS,2026-03,1.234",        # 10 too many decimals for USD
        "US,6100,OPS,2027-01,1",            # 11 outside FY2026
        "US,4000,,2026-01,5",               # 12 duplicate of line 2
        "UK,6100,OPS,2026-04,1",            # 13 second entity
        "US,1000,,2026-04,1",               # 14 balance-sheet account
        "US,6100,OPS,2026-04,",             # 15 empty amount
    )
    result = run(books, data)

    assert [(e.line, e.message) for e in result.errors] == [
        (3, "Unknown entity “XX”."),
        (4, "Unknown account “9999”."),
        (5, "Unknown cost center “NOPE”."),
        (6, "Period “2026-13” is not a month like 2026-01 (YYYY-MM)."),
        (7, "Period “Feb 2026” is not a month like 2026-01 (YYYY-MM)."),
        (8, "This line has 6 values but the header has 5 columns: quote values that contain commas (e.g. \"1,234.56\")."),
        (9, "Amount “abc” is not a number like 1234.56, -1234.56, 1,234.56 or (1,234.56)."),
        (10, "Amount “1.234” has more decimals than USD allows (2)."),
        (11, "Period 2027-01 is in FY2027, outside FY2026 of this budget (from line 2)."),
        (12, "The same account, cost center and period as line 2: each cell once."),
        (13, "Entity UK: line 2 names entity US, and a budget belongs to one entity."),
        (14, "Account 1000 is an asset account: budgets hold revenue and expense accounts."),
        (15, "Amount is empty."),
    ]
    assert result.summary() == "13 problems found: nothing was imported."
    assert state(books.org) == (0, 0, 0)


def test_rows_of_an_existing_budget_must_match_its_entity_and_fiscal_year(books, budget):
    result = run(books, csv_file("UK,6100,,2026-01,1", "US,6100,,2025-12,1"))
    assert [(e.line, e.message) for e in result.errors] == [
        (2, "Entity UK: budget “Plan 2026” belongs to entity US, and a budget belongs to one entity."),
        (3, "Period 2025-12 is in FY2025, outside FY2026 of budget “Plan 2026”."),
    ]
    assert state(books.org) == (1, 1, 0)


def test_an_approved_budget_refuses_the_import_and_asks_for_a_revision(books, users, budget, draft):
    run(books, csv_file(*GOOD))
    services.version_submit(tenant=books.org, actor=None, version=draft)
    services.version_approve(tenant=books.org, actor=users["finance"], version=draft)
    result = run(books, csv_file("US,4000,,2026-01,1"))
    assert [(e.line, e.message) for e in result.errors] == [(None, (
        "Plan 2026 v1 is approved: approved and locked budgets are read-only; changing one means a new revision."))]
    assert cells(books.org)[("4000", None, "2026-01")] == D("1000.0000")


@pytest.mark.parametrize("data, message", [
    (b"", "The file is empty."),
    (b"entity;account;period;amount\n", "The header is a single column"),
    (b"entity,account,period\nUS,4000,2026-01\n", "Missing required column: amount."),
    (b"\xff\xfeentity", "The file is not UTF-8 text"),
    (csv_file(), "The file has a header but no rows."),
])
def test_a_file_that_cannot_be_read_says_why(books, data, message):
    result = run(books, data)
    assert len(result.errors) == 1 and message in result.errors[0].message
    assert state(books.org) == (0, 0, 0)


def test_an_xlsx_file_imports_like_the_csv(books):
    from datetime import datetime

    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Entity", "Account", "Cost center", "Period", "Amount"])
    sheet.append(["US", "6100", "OPS", "2026-03", 99.99])
    sheet.append(["US", 4000, None, datetime(2026, 4, 1), 12])
    buffer = io.BytesIO()
    workbook.save(buffer)
    result = run(books, buffer.getvalue(), filename="budget.xlsx")
    assert result.errors == []
    assert cells(books.org) == {("6100", "OPS", "2026-03"): D("99.9900"), ("4000", None, "2026-04"): D("12.0000")}


# --- the command ----------------------------------------------------------------------------------

def command(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import_budget", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_the_command_imports_a_good_file(books, tmp_path):
    path = tmp_path / "plan.csv"
    path.write_bytes(csv_file(*GOOD))
    out, err = command(str(path), "--org", "acme", "--budget", "Plan 2026", "--user", "finance@acme.test")
    assert (out, err) == ("plan.csv: 4 rows into Plan 2026 v1 (new budget): 4 cells created, 0 changed, 0 unchanged.\n",
                          "")
    with tenant_context(books.org):
        assert AuditEvent.objects.get(action="budget.import").actor_label == "finance@acme.test"


def test_the_command_refuses_a_bad_file_with_every_bad_row_on_stderr(books, tmp_path):
    path = tmp_path / "plan.csv"
    path.write_bytes(csv_file("US,4000,,2026-01,1", "US,9999,,2026-02,x"))
    err = io.StringIO()
    with pytest.raises(CommandError, match="plan.csv: 1 problem found: nothing was imported.") as caught:
        call_command("import_budget", str(path), "--org", "acme", "--budget", "Plan 2026", stderr=err)
    assert caught.value.returncode == 1
    assert err.getvalue().splitlines() == [
        "line 3: Unknown account “9999”. Amount “x” is not a number like 1234.56, -1234.56, 1,234.56 or (1,234.56)."]
    assert state(books.org) == (0, 0, 0)


@pytest.mark.parametrize("args, message", [
    (["missing.csv", "--org", "acme", "--budget", "B"], "Cannot read missing.csv: No such file or directory."),
    (["missing.csv", "--org", "nope", "--budget", "B"], "No organisation with slug 'nope'."),
    (["missing.csv", "--org", "acme", "--budget", "B", "--user", "x@y.test"], "x@y.test is not a member of Acme."),
])
def test_the_command_refuses_an_unknown_organisation_user_or_file(books, args, message):
    with pytest.raises(CommandError, match=re.escape(message)):
        command(*args)


@pytest.mark.django_db(transaction=True)
def test_from_the_shell_a_good_file_exits_0_and_a_bad_one_exits_1_with_its_rows_on_stderr(books, tmp_path):
    env = child_env()
    bad, good = tmp_path / "bad.csv", tmp_path / "good.csv"
    bad.write_bytes(csv_file("US,4000,,2026-01,1", "US,4000,,2027-01,1"))
    good.write_bytes(csv_file(*GOOD))

    def shell(path):
        return subprocess.run([sys.executable, "manage.py", "import_budget", str(path), "--org", "acme",
                               "--budget", "Plan 2026", "--skip-checks"],
                              cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=60)

    refused = shell(bad)
    assert (refused.returncode, refused.stdout) == (1, "")
    assert refused.stderr.splitlines() == [
        "line 3: Period 2027-01 is in FY2027, outside FY2026 of this budget (from line 2).",
        "CommandError: bad.csv: 1 problem found: nothing was imported.",
    ]
    assert state(books.org) == (0, 0, 0)
    done = shell(good)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == "good.csv: 4 rows into Plan 2026 v1 (new budget): 4 cells created, 0 changed, 0 unchanged.\n"
    assert state(books.org) == (1, 1, 4)
