"""Shared fixtures: two organisations (`org`, `other_org`), a member per role in each, and a
small chart of accounts in both, all set up through the services a user would go through."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest
from django.db import connections

from finops import dbsetup
from finops.ledger import services as ledger
from finops.ledger.models import AccountType
from finops.tenancy import services as tenancy
from finops.tenancy.context import tenant_context
from finops.tenancy.permissions import Role

PASSWORD = "correct horse battery staple"


# --- the database: created and migrated by the owner role, used by the runtime role ------------
_runtime_credentials: dict[str, str] = {}


def _connect_as(settings_dict: dict, user: str, password: str | None) -> None:
    connections["default"].close()
    settings_dict["USER"], settings_dict["PASSWORD"] = user, password or ""


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    """The test database is created and migrated by the owner role, as `migrate` is in production."""
    settings_dict = connections["default"].settings_dict
    _runtime_credentials.update(USER=settings_dict["USER"], PASSWORD=settings_dict["PASSWORD"])
    roles = dbsetup.roles()
    _connect_as(settings_dict, roles.owner, roles.owner_password)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Then every test connects as the runtime role (finops.dbsetup), as the application does."""
    settings_dict = connections["default"].settings_dict
    with django_db_blocker.unblock():
        _connect_as(settings_dict, _runtime_credentials["USER"], _runtime_credentials["PASSWORD"])
    yield
    with django_db_blocker.unblock():  # the owner drops the test database
        roles = dbsetup.roles()
        _connect_as(settings_dict, roles.owner, roles.owner_password)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Tests hash with MD5: Argon2 costs ~0.2 s a user and each organisation fixture makes four.
    Argon2 stays in the list, so hashes made by a child process (production settings) still check;
    tests/tenancy/test_passwords.py proves production hashes with Argon2."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *settings.PASSWORD_HASHERS]


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
        tenancy.member_add(org=org, actor=None, user=user, role=role)
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


@pytest.fixture
def org(db):
    return make_org("acme", "Acme")


@pytest.fixture
def other_org(db):
    return make_org("globex", "Globex")


@pytest.fixture
def books(org) -> Books:
    return make_books(org)


@pytest.fixture
def other_books(other_org) -> Books:
    return make_books(other_org)


@pytest.fixture
def users(org):
    from django.contrib.auth import get_user_model

    return {role: get_user_model().objects.get(email=f"{role}@acme.test") for role in Role.values}


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


@pytest.fixture
def in_tenant():
    """`with in_tenant(org): ...` for assertions that read tenant tables."""
    return tenant_context
