"""Importing a chart (entities, accounts, cost centers) from CSV: all or nothing, line by line."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from finops.audit.models import AuditEvent
from finops.ledger import services as ledger
from finops.ledger.chart_import import chart_import
from finops.ledger.models import Account, CostCenter, Entity
from finops.ledger.services import LineSpec
from finops.tenancy.context import tenant_context

HEADER = "kind,code,name,type,currency,parent\n"

CHART = HEADER + """\
entity,US,Acme Inc,,USD,
entity,DE,Acme GmbH,,eur,
account,1010,Operating cash,asset,,1000
account,1000,Current assets,Asset,,
account,4000,Revenue,revenue,,
account,4010,Subscription revenue,revenue,,4000
account,6000,Operating expenses,expense,,
account,6100,Rent,expense,,6000
cost_center,ENG,Engineering,,,RND
cost center,RND,Research and development,,,
Cost-Center,WEB,Web platform,,,ENG
"""



def run(org, text: str | bytes, actor=None):
    data = text.encode() if isinstance(text, str) else text
    return chart_import(tenant=org, actor=actor, data=data)


def snapshot(org):
    with tenant_context(org):
        return (
            sorted(Entity.objects.values_list("code", "name", "functional_currency")),
            sorted((a.code, a.name, a.type, a.parent.code if a.parent else None)
                   for a in Account.objects.select_related("parent")),
            sorted((c.code, c.name, c.parent.code if c.parent else None)
                   for c in CostCenter.objects.select_related("parent")),
        )


def messages(result):
    return [(e.line, e.message) for e in result.errors]


def test_a_chart_is_created_with_parents_that_appear_after_their_children(org, users):
    result = run(org, CHART, actor=users["finance"])

    assert result.ok, messages(result)
    assert result.summary() == ("11 rows: 2 entities, 6 accounts, 3 cost centers created; nothing updated; "
                                "0 unchanged.")
    entities, accounts, centers = snapshot(org)
    assert entities == [("DE", "Acme GmbH", "EUR"), ("US", "Acme Inc", "USD")]
    assert accounts == [
        ("1000", "Current assets", "asset", None), ("1010", "Operating cash", "asset", "1000"),
        ("4000", "Revenue", "revenue", None), ("4010", "Subscription revenue", "revenue", "4000"),
        ("6000", "Operating expenses", "expense", None), ("6100", "Rent", "expense", "6000"),
    ]
    assert centers == [("ENG", "Engineering", "RND"), ("RND", "Research and development", None),
                       ("WEB", "Web platform", "ENG")]
    with tenant_context(org):
        assert Account.objects.get(code="4010").normal_balance == "credit"
        assert AuditEvent.objects.filter(action="account.create", actor=users["finance"]).count() == 6


def test_reimporting_updates_names_and_parents_and_deletes_nothing(org):
    run(org, CHART)
    result = run(org, HEADER + """\
entity,US,Acme Corporation Inc,,USD,
account,1010,Cash at bank,asset,,
account,6100,Rent,expense,,6000
account,6200,Software,expense,,6000
cost_center,WEB,Web platform,,,RND
""")

    assert result.ok, messages(result)
    assert result.summary() == ("5 rows: 1 account created; 1 entity, 1 account, 1 cost center updated; "
                                "1 unchanged.")
    entities, accounts, centers = snapshot(org)
    assert ("US", "Acme Corporation Inc", "USD") in entities and len(entities) == 2
    assert ("1010", "Cash at bank", "asset", None) in accounts
    assert ("6200", "Software", "expense", "6000") in accounts and len(accounts) == 7
    assert ("WEB", "Web platform", "RND") in centers and len(centers) == 3


def test_the_same_file_twice_changes_nothing_the_second_time(org):
    run(org, CHART)
    before = snapshot(org)
    with tenant_context(org):
        events = AuditEvent.objects.count()

    result = run(org, CHART)

    assert result.summary() == "11 rows: nothing created; nothing updated; 11 unchanged."
    assert snapshot(org) == before
    with tenant_context(org):
        assert AuditEvent.objects.count() == events


def test_without_a_parent_column_existing_parents_are_kept(org):
    run(org, CHART)
    result = run(org, "kind,code,name,type\naccount,4010,Subscriptions,revenue\n")

    assert result.ok
    assert ("4010", "Subscriptions", "revenue", "4000") in snapshot(org)[1]


def test_every_bad_row_is_named_with_its_line_and_nothing_is_written(org):
    run(org, CHART)
    before = snapshot(org)
    result = run(org, HEADER + """\
planet,X1,Mars,,,
account,,No code,asset,,
account,7000,,expense,,
account,7100,Things,stuff,,
account,7200,Untyped,,,
entity,FR,Acme SAS,,,
entity,JP,Acme KK,,XYZ,
entity,DE,Acme GmbH,,GBP,
account,7300,Orphan,expense,,9999
account,7400,Looping,expense,,7400
account,7500,Twice,expense,,
account,7500,Twice again,expense,,
cost_center,A,Alpha,,,B
cost_center,B,Beta,,,A
entity,UK,Acme Ltd,,GBP,US
,8000,No kind,expense,,
account,7600,Fine row,expense,,6000
""")

    assert messages(result) == [
        (2, "Unknown kind “planet”: use entity, account or cost_center."),
        (3, "The code is missing."),
        (4, "The name is missing."),
        (5, "Unknown account type “stuff”: use asset, liability, equity, revenue or expense."),
        (6, "An account needs a type: asset, liability, equity, revenue or expense."),
        (7, "An entity needs its functional currency (e.g. USD)."),
        (8, "Unknown currency “XYZ”."),
        (9, "Entity DE keeps its books in EUR: its functional currency cannot change to GBP."),
        (10, "Unknown parent account 9999: it is neither in the file nor in the organisation."),
        (11, "Account 7400 cannot be its own parent."),
        (13, "Duplicate account code 7500 (also on line 12)."),
        (14, "The parents form a cycle: A → B → A."),
        (15, "The parents form a cycle: B → A → B."),
        (16, "Entities have no parent: leave the parent empty."),
        (17, "The kind is missing: use entity, account or cost_center."),
    ]
    assert result.summary() == "15 problems found: nothing was imported."
    assert snapshot(org) == before


def test_a_cycle_through_existing_accounts_is_refused(org):
    run(org, CHART)
    # 1000 exists as the parent of 1010; making 1000 a child of 1010 closes a loop.
    result = run(org, HEADER + "account,1000,Current assets,asset,,1010\n")

    assert messages(result) == [(2, "The parents form a cycle: 1000 → 1010 → 1000.")]


def test_an_account_with_postings_keeps_its_type_but_an_unused_one_may_change(books):
    ledger.journal_post(tenant=books.org, actor=None, entity=books.usd, date=date(2026, 3, 2),
                        lines=[LineSpec(books.rent.pk, Decimal("500")), LineSpec(books.cash.pk, Decimal("-500"))])

    refused = run(books.org, HEADER + "account,6100,Rent,asset,,\n")
    allowed = run(books.org, HEADER + "account,6200,Software,asset,,\n")

    assert messages(refused) == [(2, "Account 6100 has postings: its type cannot change from expense to asset.")]
    assert allowed.ok
    with tenant_context(books.org):
        assert Account.objects.get(code="6200").normal_balance == "debit"
        assert Account.objects.get(code="6100").type == "expense"


@pytest.mark.parametrize("data, message", [
    (b"", "The file is empty."),
    (b"kind,code\naccount,1000\n", "Missing required column: name. The header must name kind, code, name, "
                                    "type, currency, parent."),
    (b"kind,code,name\n", "The file has a header but no rows."),
    ("kind,code,name\naccount,1000,Caf\xe9\n".encode("latin-1"),
     "The file is not UTF-8 text (line 2 has the byte 0xe9): save it as “CSV UTF-8” and import it again."),
])
def test_unreadable_files_get_one_clear_message(org, data, message):
    result = run(org, data)
    assert [e.message for e in result.errors] == [message]


def test_headers_are_case_and_space_insensitive_and_a_bom_is_accepted(org):
    result = run(org, "\ufeff Kind ,CODE,Name,Type,Parent\naccount,1000,Assets,asset,\n".encode())
    assert result.ok
    assert snapshot(org)[1] == [("1000", "Assets", "asset", None)]


def test_the_command_imports_and_reports_a_summary(org, tmp_path):
    path = tmp_path / "chart.csv"
    path.write_text(CHART, encoding="utf-8")
    out = io.StringIO()

    call_command("import_chart", str(path), "--org", org.slug, stdout=out)

    assert out.getvalue().strip() == (f"{org.slug}: 11 rows: 2 entities, 6 accounts, 3 cost centers created; "
                                      "nothing updated; 0 unchanged.")


def test_the_command_writes_each_bad_row_to_stderr_and_exits_with_1(org, tmp_path):
    path = tmp_path / "chart.csv"
    path.write_text(HEADER + "account,1000,Assets,asset,,\naccount,2000,Debts,debt,,\n", encoding="utf-8")
    err = io.StringIO()

    with pytest.raises(CommandError, match="1 problem found: nothing was imported.") as excinfo:
        call_command("import_chart", str(path), "--org", org.slug, stderr=err)

    assert excinfo.value.returncode == 1
    assert err.getvalue() == ("line 3: Unknown account type “debt”: use asset, liability, equity, revenue "
                              "or expense.\n")
    with tenant_context(org):
        assert not Account.objects.exists()


def test_the_command_names_a_missing_file_or_organisation(org, tmp_path):
    with pytest.raises(CommandError, match=r"Cannot read .*nope.csv: No such file or directory."):
        call_command("import_chart", str(tmp_path / "nope.csv"), "--org", org.slug)
    with pytest.raises(CommandError, match="No organisation with slug 'initech'."):
        call_command("import_chart", str(tmp_path / "nope.csv"), "--org", "initech")


def test_the_same_chart_as_xlsx_imports_the_same_rows_and_names_a_bad_one_by_its_row(org, users):
    from tests.xlsx_files import sheet_xml, strings_xml, xlsx

    rows = [line.split(",") for line in CHART.splitlines()]
    data = xlsx(sheet_xml(rows, shared=(shared := [])), strings=strings_xml(shared))
    result = chart_import(tenant=org, actor=users["finance"], data=data, filename="chart.xlsx")
    assert result.ok, messages(result)
    assert snapshot(org)[1] == [("1000", "Current assets", "asset", None), ("1010", "Operating cash", "asset", "1000"),
                                ("4000", "Revenue", "revenue", None), ("4010", "Subscription revenue", "revenue", "4000"),
                                ("6000", "Operating expenses", "expense", None), ("6100", "Rent", "expense", "6000")]

    bad = xlsx(sheet_xml([rows[0], ["account", "7000", "Travel", "expense"], ["account", "7100", "Hotels", "spending"]]))
    refused = chart_import(tenant=org, actor=users["finance"], data=bad, filename="more.xlsx")
    assert [line for line, _ in messages(refused)] == [3]
    with tenant_context(org):
        assert not Account.objects.filter(code__in=["7000", "7100"]).exists()


def test_a_column_named_twice_is_refused_like_in_every_import(org):
    result = run(org, "kind,code,name,Name\naccount,7000,Travel,Trips\n")
    assert messages(result) == [(1, "The column “name” appears twice in the header.")]
    assert snapshot(org) == ([], [], [])
