"""The tenant context: which organisation the current unit of work belongs to.

Two walls, set together by `tenant_context()`:
- in Python, a context variable that tenant-owned managers read (they raise without one);
- in PostgreSQL, the transaction-local setting `app.tenant_id` that every row-level-security
  policy compares `tenant_id` with. Because the setting is transaction-local, the context opens
  a transaction (or a savepoint) and the setting dies with it: a pooled connection never carries
  one request's tenant into the next.

The directory (memberships, invitations) is read before the tenant is known, so its policies also
accept two other transaction-local settings, set the same way: `app.user_id` (a user sees their
own memberships: `user_context()`) and `app.invitation` (the SHA-256 of the invitation token being
redeemed: `invitation_context()`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.db import connections, transaction

_current_tenant_id: ContextVar[int | None] = ContextVar("finops_tenant_id", default=None)
_current_user_id: ContextVar[int | None] = ContextVar("finops_user_id", default=None)
_current_invitation: ContextVar[str | None] = ContextVar("finops_invitation", default=None)


class TenantNotSet(RuntimeError):
    """A tenant-owned table was queried outside any tenant context."""


def current_tenant_id() -> int | None:
    return _current_tenant_id.get()


def require_tenant_id() -> int:
    tenant_id = _current_tenant_id.get()
    if tenant_id is None:
        raise TenantNotSet("No tenant in context: wrap the work in tenant_context(org).")
    return tenant_id


def _set_database_setting(name: str, value, using: str) -> None:
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT set_config(%s, %s, true)", [name, "" if value is None else str(value)])


@contextmanager
def _database_setting(var: ContextVar, name: str, value, using: str) -> Iterator[None]:
    """Run the block inside one transaction with the setting `name` = `value` (and `var` too)."""
    previous = var.get()
    nested = connections[using].in_atomic_block
    token = var.set(value)
    try:
        with transaction.atomic(using=using):
            if not (nested and previous == value):  # else the setting is in force already
                _set_database_setting(name, value, using)
            yield
            # Outermost, the transaction ends here and the setting with it; nested in another
            # context's (or no context's) transaction, put theirs back. On an exception the
            # (sub)transaction rolls back, and the setting with it.
            if nested and previous != value:
                _set_database_setting(name, previous, using)
    finally:
        var.reset(token)


@contextmanager
def tenant_context(tenant, *, using: str = "default") -> Iterator[int]:
    """Run the block as `tenant` (an Organization or its id), inside one transaction."""
    tenant_id = int(getattr(tenant, "pk", tenant))
    with _database_setting(_current_tenant_id, "app.tenant_id", tenant_id, using):
        yield tenant_id


@contextmanager
def user_context(user, *, using: str = "default") -> Iterator[None]:
    """Run the block as `user` (or an id): the directory shows them their own memberships."""
    with _database_setting(_current_user_id, "app.user_id", int(getattr(user, "pk", user)), using):
        yield


@contextmanager
def invitation_context(token_hash: str, *, using: str = "default") -> Iterator[None]:
    """Run the block redeeming the invitation whose token hashes to `token_hash`."""
    with _database_setting(_current_invitation, "app.invitation", token_hash, using):
        yield
