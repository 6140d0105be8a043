"""Every FOCUS export in ../shared/data/focus (files nobody here wrote) imports, and its totals
are the file's own: the expected sums are read from each file here with the csv module and
Decimal, independently of the importer."""

from __future__ import annotations

import csv
import io
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from django.db.models import Count, Sum

from costs.models import CostItem
from costs.selectors import cost_summary
from finops.jobs.models import JobStatus
from finops.tenancy.context import tenant_context

FOCUS_DIR = Path(__file__).resolve().parents[3] / "shared" / "data" / "focus"
FILES = sorted(FOCUS_DIR.glob("*.csv"))
CENT = Decimal("0.01")


def test_the_shared_focus_directory_has_the_files():
    assert len(FILES) == 26


def file_sums(path: Path) -> tuple[Decimal, Decimal, int]:
    """Σ BilledCost, Σ EffectiveCost and the number of charges, as the file writes them."""
    reader = csv.reader(io.StringIO(path.read_bytes().decode("utf-8-sig")))
    header = [h.strip().lower() for h in next(reader)]
    billed, effective = header.index("billedcost"), header.index("effectivecost")

    def amount(text: str) -> Decimal:
        return Decimal(text.replace("$", "").replace(",", "").strip())

    rows = [r for r in reader if any(c.strip() for c in r)]
    return sum((amount(r[billed]) for r in rows), Decimal(0)), sum((amount(r[effective]) for r in rows), Decimal(0)), len(rows)


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_each_focus_file_imports_with_the_files_own_totals(org, import_costs, path):
    billed, effective, count = file_sums(path)

    job = import_costs(org, path.read_bytes(), "focus", filename=path.name)

    assert (job.status, job.rows, job.result["items_created"], job.result["items_skipped"], job.error_count) == (
        JobStatus.SUCCEEDED, count, count, 0, 0), job.errors
    with tenant_context(org):
        exact = CostItem.objects.aggregate(billed=Sum("billed_cost"), effective=Sum("effective_cost"), n=Count("id"))
    assert (exact["billed"], exact["effective"], exact["n"]) == (billed, effective, count)
    [summary] = cost_summary(tenant=org)
    assert (summary.currency, summary.billed_cost, summary.effective_cost, summary.items) == (
        "USD", billed.quantize(CENT, ROUND_HALF_UP), effective.quantize(CENT, ROUND_HALF_UP), count)
