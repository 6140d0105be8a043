"""What tests build through the services a user would go through: an organisation with a member
per role, a small chart of accounts, and ways in for the tests (the owner's connection, a
membership read in its tenant). Fixtures built from these live in tests/conftest.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import connections

from finops import dbsetup
from finops.ledger import services as ledger
from finops.ledger.models import AccountType
from finops.tenancy import services as tenancy
from finops.tenancy.context import tenant_context
from finops.tenancy.permissions import Role

PASSWORD = "correct horse battery staple"


@dataclass
class Books:
    org: object
    usd: object  # entity, USD
    gbp: object  # entity, GBP
    cash: object
    revenue: object
    rent: object
    software: object
    payable: object
    ops: object  # cost center
    sales: object  # cost center, child of ops


def make_org(slug: str, name: str) -> object:
    org = tenancy.organization_create(slug=slug, name=name, currency="USD")
    for role in Role.values:
        user = tenancy.user_get_or_create(email=f"{role}@{slug}.test", password=PASSWORD)
        tenancy.member_add(tenant=org, actor=None, user=user, role=role)
    return org


def make_books(org) -> Books:
    usd = ledger.entity_create(tenant=org, actor=None, code="US", name=f"{org.name} Inc", functional_currency="USD")
    gbp = ledger.entity_create(tenant=org, actor=None, code="UK", name=f"{org.name} Ltd", functional_currency="GBP")
    acct = lambda code, name, kind: ledger.account_save(tenant=org, actor=None, code=code, name=name, type=kind)  # noqa: E731
    cash = acct("1000", "Cash", AccountType.ASSET)
    payable = acct("2000", "Accounts payable", AccountType.LIABILITY)
    revenue = acct("4000", "Subscription revenue", AccountType.REVENUE)
    rent = acct("6100", "Rent", AccountType.EXPENSE)
    software = acct("6200", "Software", AccountType.EXPENSE)
    ops = ledger.cost_center_save(tenant=org, actor=None, code="OPS", name="Operations")
    sales = ledger.cost_center_save(tenant=org, actor=None, code="SALES", name="Sales", parent=ops)
    ledger.fx_rate_set(tenant=org, actor=None, date=date(2026, 3, 1), from_currency="EUR", to_currency="USD",
                       rate=Decimal("1.0850"))
    ledger.fx_rate_set(tenant=org, actor=None, date=date(2026, 3, 1), from_currency="GBP", to_currency="USD",
                       rate=Decimal("1.2700"))
    return Books(org, usd, gbp, cash, revenue, rent, software, payable, ops, sales)


def owner_connection():
    """A psycopg connection to the test database as the owner role (autocommit), for what the
    runtime role may not do: show that the database's own rules hold for its owner too."""
    roles = dbsetup.roles()
    return dbsetup.connect(connections["default"].settings_dict["NAME"], user=roles.owner,
                           password=roles.owner_password)


def member(org, **filters):
    """One membership of `org`, read in its tenant context (the directory is under row-level security)."""
    from finops.tenancy.models import Membership

    with tenant_context(org):
        return Membership.objects.select_related("user", "organization").get(organization=org, **filters)
