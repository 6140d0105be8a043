"""What a row of a GL file may name: the tenant's entities, accounts, cost centers and rates,
loaded once per import into plain dictionaries so the checking loop needs no database."""

from __future__ import annotations

from dataclasses import dataclass

from finops.tenancy.context import tenant_context

from ..fx import RateBook
from ..models import Account, CostCenter, Entity


@dataclass
class GlReference:
    """What a row may name, as plain dictionaries: code → (id, …, active)."""

    entities: dict[str, tuple[int, str, bool]]  # code → (id, functional currency, active)
    accounts: dict[str, tuple[int, bool]]
    cost_centers: dict[str, tuple[int, bool]]
    rates: RateBook

    def __post_init__(self):
        # Codes match exactly, else case-insensitively when that is unambiguous.
        self.entities_ci = _case_insensitive(self.entities)
        self.accounts_ci = _case_insensitive(self.accounts)
        self.cost_centers_ci = _case_insensitive(self.cost_centers)


def _case_insensitive(by_code: dict) -> dict:
    folded: dict[str, list] = {}
    for code, value in by_code.items():
        folded.setdefault(code.upper(), []).append((code, value))
    return {key: pairs[0] for key, pairs in folded.items() if len(pairs) == 1}


def gl_reference_load(*, tenant) -> GlReference:
    with tenant_context(tenant):
        return GlReference(
            entities={code: (pk, str(cur), active) for pk, code, cur, active in
                      Entity.objects.values_list("id", "code", "functional_currency", "active")},
            accounts={code: (pk, active) for pk, code, active in Account.objects.values_list("id", "code", "active")},
            cost_centers={code: (pk, active) for pk, code, active in
                          CostCenter.objects.values_list("id", "code", "active")},
            rates=RateBook.load(tenant=tenant),
        )
