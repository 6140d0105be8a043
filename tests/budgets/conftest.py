"""A budget for FY2026 on Acme's US entity, created through the service as finance would."""

from __future__ import annotations

import pytest

from budgets import services
from budgets.selectors import budget_periods, version_latest


@pytest.fixture
def budget(books, users):
    return services.budget_create(tenant=books.org, actor=users["finance"], entity=books.usd, fiscal_year=2026,
                                  name="Plan 2026")


@pytest.fixture
def periods(books, budget):
    return budget_periods(tenant=books.org, budget=budget)


@pytest.fixture
def draft(books, budget):
    return version_latest(tenant=books.org, budget=budget)
