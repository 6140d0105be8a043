"""Every write to budgets, by subdomain:

- `budgets`: creating a budget (its periods and its first, original, draft version);
- `cells`: setting a version's cells and spreading a row over its months;
- `versions`: a version's life (draft → submitted → approved | rejected → locked) and revisions.

Rules a person can fix are checked here and said in words (`DomainError`); who may act is the
policy's (`finops.tenancy.policy.requires` on each service); the database holds the rest (one
cell per account × cost center × month per version, references to the tenant's own rows). Each
service runs in one transaction under `tenant_context` and writes an audit row with the values
before and after.

The package is the app's write API, as `finops.ledger.services` is the ledger's: callers outside
budgets write `from budgets import services` and `services.budget_create(...)`; modules of the
app import from the submodule that defines a name.
"""

from .budgets import BUDGET_ACCOUNT_TYPES, READ_ONLY, budget_create
from .cells import (
    SPREAD_METHODS,
    Cell,
    LinesResult,
    actuals_last_year,
    budget_cells_check,
    budget_cells_write_checked,
    budget_line_spread,
    budget_lines_set,
)
from .versions import (
    APPROVER_ROLES,
    segregation_of_duties_check,
    version_approve,
    version_for_update,
    version_lock,
    version_reject,
    version_require_editable,
    version_revise,
    version_submit,
)

__all__ = [
    "APPROVER_ROLES", "BUDGET_ACCOUNT_TYPES", "READ_ONLY", "SPREAD_METHODS", "Cell", "LinesResult",
    "actuals_last_year", "budget_cells_check", "budget_cells_write_checked", "budget_create", "budget_line_spread",
    "budget_lines_set", "segregation_of_duties_check", "version_approve", "version_for_update", "version_lock",
    "version_reject", "version_require_editable", "version_revise", "version_submit",
]
