"""`import_costs` and `cost_summary` on the command line: exit code 1 and every bad row on
stderr when a file is refused, one summary line when it imports; the summary as exact CSV."""

from __future__ import annotations

import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from tests.local_servers import child_env

ROOT = Path(settings.BASE_DIR)

APRIL_MAY = (
    "ChargePeriodStart,ChargeCategory,ChargeClass,BilledCost,EffectiveCost,BillingCurrency,ProviderName,ServiceName\n"
    "2025-04-01T00:00:00Z,Usage,,0.004,0.003,USD,AWS,EC2\n"
    "2025-04-01T01:00:00Z,Usage,,0.004,0.003,USD,AWS,EC2\n"
    "2025-04-15T00:00:00Z,Purchase,,100.00,0,USD,AWS,Savings Plans\n"
    "2025-04-20T00:00:00Z,Usage,,12.345,12.345,EUR,Hetzner,Servers\n"
    "2025-05-01T00:00:00Z,Usage,,8.125,8.125,USD,Google Cloud,BigQuery\n"
    "2025-05-02T00:00:00Z,Credit,,-1.115,-1.115,USD,Google Cloud,BigQuery\n"
    "2025-05-02T00:00:00Z,Usage,Correction,-0.0051,-0.0051,USD,AWS,EC2\n"
)


def manage(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=child_env(), capture_output=True,
                          text=True, timeout=120)


@pytest.mark.django_db(transaction=True)
def test_import_costs_exits_1_with_the_bad_rows_on_stderr_then_imports_the_corrected_file(org, tmp_path):
    path = tmp_path / "april.csv"
    path.write_text(APRIL_MAY.replace("12.345,12.345,EUR", "12.345,twelve,EUR").replace(",Purchase,", ",Bought,"))

    refused = manage("import_costs", str(path), "--org", "acme", "--format", "focus")

    assert refused.returncode == 1
    assert refused.stdout == ""
    assert refused.stderr == (
        "line 4: ChargeCategory “Bought” is not one of Usage, Purchase, Tax, Credit, Adjustment.\n"
        "line 5: EffectiveCost “twelve” is not a number like 1234.56, -1234.56, 1,234.56 or (1,234.56).\n"
        "CommandError: april.csv: 2 problems found: nothing was imported.\n")

    path.write_text(APRIL_MAY)
    imported = manage("import_costs", str(path), "--org", "acme", "--format", "focus", "--user", "finance@acme.test")
    again = manage("import_costs", str(path), "--org", "acme", "--format", "focus")

    assert (imported.returncode, imported.stderr) == (0, "")
    assert imported.stdout == "april.csv: 7 rows: 7 cost items created, 0 already imported (skipped).\n"
    assert (again.returncode, again.stderr) == (0, "")
    assert again.stdout.startswith("april.csv: This file was already imported on ")
    assert again.stdout.endswith("nothing changed.\n")


def test_import_costs_refuses_an_unknown_organisation_or_format(org, tmp_path):
    path = tmp_path / "a.csv"
    path.write_text(APRIL_MAY)
    with pytest.raises(CommandError, match="^No organisation with slug 'nope'.$"):
        call_command("import_costs", str(path), "--org", "nope", "--format", "focus")
    with pytest.raises(CommandError, match="invalid choice: 'parquet'"):
        call_command("import_costs", str(path), "--org", "acme", "--format", "parquet")


def summary(*args: str) -> str:
    out = StringIO()
    call_command("cost_summary", "--org", "acme", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def april_may(org, tmp_path):
    path = tmp_path / "april-may.csv"
    path.write_text(APRIL_MAY)
    call_command("import_costs", str(path), "--org", "acme", "--format", "focus", stdout=StringIO())


def test_cost_summary_without_by_is_one_row_per_currency_rounded_once_from_the_exact_sums(april_may):
    # USD billed: 0.004 + 0.004 + 100 + 8.125 − 1.115 − 0.0051 = 107.0129 → 107.01 (each row rounded
    # first would give 0.00 + 0.00 + 100.00 + 8.13 − 1.12 − 0.01 = 107.00).
    assert summary() == ("key,currency,billed_cost,effective_cost,items\n"
                         "total,EUR,12.35,12.35,1\n"
                         "total,USD,107.01,7.01,6\n")


def test_cost_summary_by_each_key(april_may):
    assert summary("--by", "provider") == ("key,currency,billed_cost,effective_cost,items\n"
                                           "AWS,USD,100.00,0.00,4\n"
                                           "Google Cloud,USD,7.01,7.01,2\n"
                                           "Hetzner,EUR,12.35,12.35,1\n")
    assert summary("--by", "service") == ("key,currency,billed_cost,effective_cost,items\n"
                                          "BigQuery,USD,7.01,7.01,2\n"
                                          "EC2,USD,0.00,0.00,3\n"
                                          "Savings Plans,USD,100.00,0.00,1\n"
                                          "Servers,EUR,12.35,12.35,1\n")
    assert summary("--by", "month") == ("key,currency,billed_cost,effective_cost,items\n"
                                        "2025-04,EUR,12.35,12.35,1\n"
                                        "2025-04,USD,100.01,0.01,3\n"
                                        "2025-05,USD,7.00,7.00,3\n")
    assert summary("--by", "cost_center") == ("key,currency,billed_cost,effective_cost,items\n"
                                              ",EUR,12.35,12.35,1\n"
                                              ",USD,107.01,7.01,6\n")


def test_cost_summary_from_and_to_take_the_days_the_charges_start(april_may):
    assert summary("--by", "month", "--from", "2025-04-02", "--to", "2025-05-01") == (
        "key,currency,billed_cost,effective_cost,items\n"
        "2025-04,EUR,12.35,12.35,1\n"
        "2025-04,USD,100.00,0.00,1\n"
        "2025-05,USD,8.13,8.13,1\n")
    with pytest.raises(CommandError, match=r"^The period starts after it ends \(2025-05-01 … 2025-04-01\).$"):
        summary("--from", "2025-05-01", "--to", "2025-04-01")
    with pytest.raises(CommandError, match="'1 May' is not a date in the form YYYY-MM-DD"):
        summary("--from", "1 May")
