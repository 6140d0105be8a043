"""Mapping: which cost center and account a cost item books to.

Cost items say who charged what (provider, service, sub-account, tags); the ledger needs a cost
center and an expense account. The organisation's mapping rules (`MappingRule`) bridge the two,
tried by priority: the first matching rule that names a cost center gives the item's cost
center, and the first that names an account gives its account. A generic cost file may name a
cost center and an account itself; its codes count where no rule decides, when they name an
active cost center and an active expense account. What is still missing leaves the item
*unallocated*: it books to the settings' unallocated account and shows on the mapping page.

Mapping is a pure function of an item's attributes, so it is computed where it is needed, over
groups of items with the same attributes (`costs.selectors.cost_groups`), never stored on the
items: a changed rule re-maps every item at once. This module holds the matcher; it reads no
table itself (`mapper_load` builds one from the tenant's rules and codes).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from finops.ledger.models import Account, AccountType, CostCenter
from finops.tenancy.context import tenant_context

from .models import MappingRule

WILDCARD = "*"


def pattern_compile(text: str) -> re.Pattern | None:
    """A rule's pattern: blank matches anything (None), `*` stands for any text, case ignored."""
    text = text.strip()
    if not text or text == WILDCARD:
        return None
    return re.compile(".*".join(re.escape(part) for part in text.split(WILDCARD)), re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class GroupKey:
    """What mapping reads of an item, and what a group of identical items shares."""

    month: date
    currency: str
    provider: str
    service: str
    category: str
    sub_account_id: str
    sub_account_name: str
    cost_center_code: str
    account_code: str
    tags: tuple[tuple[str, str | None], ...] = ()  # (key, value) for each tag key a rule names

    def tag(self, key: str) -> str | None:
        return dict(self.tags).get(key)


@dataclass(frozen=True)
class CostGroup:
    key: GroupKey
    billed: Decimal  # Σ BilledCost, exact, in key.currency
    effective: Decimal  # Σ EffectiveCost, exact
    items: int

    def cost(self, basis: str) -> Decimal:
        return self.billed if basis == "billed" else self.effective


@dataclass(frozen=True)
class Mapped:
    cost_center_id: int | None
    account_id: int | None
    cost_center_rule_id: int | None = None  # the rule that gave it (None: the file's own code, or nothing)
    account_rule_id: int | None = None

    @property
    def allocated(self) -> bool:
        return self.cost_center_id is not None and self.account_id is not None


@dataclass(frozen=True)
class _Rule:
    id: int
    cost_center_id: int | None
    account_id: int | None
    provider: re.Pattern | None
    service: re.Pattern | None
    category: str
    sub_account: re.Pattern | None
    tag_key: str
    tag_value: re.Pattern | None

    def matches(self, key: GroupKey) -> bool:
        if self.category and key.category != self.category:
            return False
        if self.provider and not self.provider.fullmatch(key.provider):
            return False
        if self.service and not self.service.fullmatch(key.service):
            return False
        if self.sub_account and not (self.sub_account.fullmatch(key.sub_account_id)
                                     or self.sub_account.fullmatch(key.sub_account_name)):
            return False
        if self.tag_key:
            value = key.tag(self.tag_key)
            if value is None or (self.tag_value and not self.tag_value.fullmatch(value)):
                return False
        return True


class Mapper:
    """Maps group keys by the rules (in priority order) and the file's own codes."""

    def __init__(self, rules: list[MappingRule], *, cost_centers: dict[str, int], accounts: dict[str, int]):
        self.rules = [
            _Rule(id=r.pk, cost_center_id=r.cost_center_id, account_id=r.account_id,
                  provider=pattern_compile(r.provider), service=pattern_compile(r.service),
                  category=r.charge_category, sub_account=pattern_compile(r.sub_account),
                  tag_key=r.tag_key.strip(), tag_value=pattern_compile(r.tag_value))
            for r in sorted(rules, key=lambda r: (r.priority, r.pk)) if r.active
        ]
        self.cost_centers = {code.casefold(): pk for code, pk in cost_centers.items()}
        self.accounts = {code.casefold(): pk for code, pk in accounts.items()}
        self._memo: dict[GroupKey, Mapped] = {}

    @property
    def tag_keys(self) -> list[str]:
        """The tag keys some rule reads: the only tags a group needs to carry."""
        return sorted({r.tag_key for r in self.rules if r.tag_key})

    def map(self, key: GroupKey) -> Mapped:
        if (found := self._memo.get(key)) is not None:
            return found
        cost_center = account = cost_center_rule = account_rule = None
        for rule in self.rules:
            if (cost_center is None and rule.cost_center_id) or (account is None and rule.account_id):
                if not rule.matches(key):
                    continue
                if cost_center is None and rule.cost_center_id:
                    cost_center, cost_center_rule = rule.cost_center_id, rule.id
                if account is None and rule.account_id:
                    account, account_rule = rule.account_id, rule.id
                if cost_center is not None and account is not None:
                    break
        if cost_center is None:
            cost_center = self.cost_centers.get(key.cost_center_code.strip().casefold())
        if account is None:
            account = self.accounts.get(key.account_code.strip().casefold())
        found = self._memo[key] = Mapped(cost_center, account, cost_center_rule, account_rule)
        return found


def mapper_load(*, tenant) -> Mapper:
    """The tenant's mapper: its rules, and the codes a generic file may name (active cost
    centers, active expense accounts)."""
    with tenant_context(tenant):
        rules = list(MappingRule.objects.filter(active=True))
        cost_centers = dict(CostCenter.objects.filter(active=True).values_list("code", "id"))
        accounts = dict(Account.objects.filter(active=True, type=AccountType.EXPENSE).values_list("code", "id"))
    return Mapper(rules, cost_centers=cost_centers, accounts=accounts)
