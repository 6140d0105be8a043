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


def _set_database_settings(settings: dict[str, object], using: str) -> None:
    """One statement for any number of transaction-local settings."""
    names = list(settings)
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(["set_config(%s, %s, true)"] * len(names)),
                       [item for name in names for item in (name, "" if settings[name] is None else str(settings[name]))])


@contextmanager
def _database_settings(settings: list[tuple[ContextVar, str, object]], using: str, *,
                       savepoint: bool = True) -> Iterator[None]:
    """Run the block inside one transaction with each setting `name` = `value` (and its `var`).

    Nested in a transaction where every value is in force already, there is nothing to set; with
    `savepoint=False` (read-only lookups) not even a savepoint is made.
    """
    previous = [var.get() for var, _, _ in settings]
    nested = connections[using].in_atomic_block
    changed = {name: value for (var, name, value), old in zip(settings, previous, strict=True) if not (nested and old == value)}
    tokens = [var.set(value) for var, _, value in settings]
    try:
        if not changed and not savepoint:
            yield
            return
        with transaction.atomic(using=using):
            if changed:
                _set_database_settings(changed, using)
            yield
            # Outermost, the transaction ends here and the settings with it; nested in another
            # context's (or no context's) transaction, put theirs back. On an exception the
            # (sub)transaction rolls back, and the settings with it.
            if nested and changed:
                _set_database_settings({name: old for (_, name, _), old in zip(settings, previous, strict=True)
                                        if name in changed}, using)
    finally:
        for (var, _, _), token in zip(reversed(settings), reversed(tokens), strict=True):
            var.reset(token)


@contextmanager
def tenant_context(tenant, *, user=None, savepoint: bool = True, using: str = "default") -> Iterator[int]:
    """Run the block as `tenant` (an Organization or its id), inside one transaction; with `user`,
    as that user too (a request: the directory then also shows the user's own memberships).
    `savepoint=False` is for a read that needs no savepoint of its own when the tenant is in force."""
    tenant_id = int(getattr(tenant, "pk", tenant))
    settings = [(_current_tenant_id, "app.tenant_id", tenant_id)]
    if user is not None:
        settings.append((_current_user_id, "app.user_id", int(getattr(user, "pk", user))))
    with _database_settings(settings, using, savepoint=savepoint):
        yield tenant_id


@contextmanager
def user_context(user, *, using: str = "default") -> Iterator[None]:
    """Run the block as `user` (or an id): the directory shows them their own memberships."""
    with _database_settings([(_current_user_id, "app.user_id", int(getattr(user, "pk", user)))], using,
                            savepoint=False):
        yield


@contextmanager
def invitation_context(token_hash: str, *, using: str = "default") -> Iterator[None]:
    """Run the block redeeming the invitation whose token hashes to `token_hash`."""
    with _database_settings([(_current_invitation, "app.invitation", token_hash)], using, savepoint=False):
        yield
