"""Shared fixtures: two organisations (`org`, `other_org`), a member per role in each, and a
small chart of accounts in both, built by tests/builders.py through the services a user would
go through. Test modules import helpers from tests/builders.py, never from one another."""

from __future__ import annotations

import pytest
from django.db import connections

from finops import dbsetup
from finops.tenancy.context import tenant_context
from finops.tenancy.permissions import Role
from tests.builders import Books, make_books, make_org

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


@pytest.fixture(scope="session", autouse=True)
def fresh_cache():
    """The cache starts empty: the test database is new each run and its ids start again, so a key
    a previous run left (an evaluation "already queued" for organisation 3) would hold for this
    run's organisation 3."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Tests hash with MD5: Argon2 costs ~0.2 s a user and each organisation fixture makes four.
    Argon2 stays in the list, so hashes made by a child process (production settings) still check;
    tests/tenancy/test_passwords.py proves production hashes with Argon2."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *settings.PASSWORD_HASHERS]


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


@pytest.fixture
def in_tenant():
    """`with in_tenant(org): ...` for assertions that read tenant tables."""
    return tenant_context
