"""The tenant context: which organisation the current unit of work belongs to.

Two walls, set together by `tenant_context()`:
- in Python, a context variable that tenant-owned managers read (they raise without one);
- in PostgreSQL, the transaction-local setting `app.tenant_id` that every row-level-security
  policy compares `tenant_id` with. Because the setting is transaction-local, the context opens
  a transaction (or a savepoint) and the setting dies with it: a pooled connection never carries
  one request's tenant into the next.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.db import connections, transaction

_current_tenant_id: ContextVar[int | None] = ContextVar("finops_tenant_id", default=None)


class TenantNotSet(RuntimeError):
    """A tenant-owned table was queried outside any tenant context."""


def current_tenant_id() -> int | None:
    return _current_tenant_id.get()


def require_tenant_id() -> int:
    tenant_id = _current_tenant_id.get()
    if tenant_id is None:
        raise TenantNotSet("No tenant in context: wrap the work in tenant_context(org).")
    return tenant_id


def _set_database_tenant(tenant_id: int | None, using: str) -> None:
    with connections[using].cursor() as cursor:
        cursor.execute(
            "SELECT set_config('app.tenant_id', %s, true)", ["" if tenant_id is None else str(tenant_id)]
        )


@contextmanager
def tenant_context(tenant, *, using: str = "default") -> Iterator[int]:
    """Run the block as `tenant` (an Organization or its id), inside one transaction."""
    tenant_id = int(getattr(tenant, "pk", tenant))
    previous = _current_tenant_id.get()
    nested = connections[using].in_atomic_block
    token = _current_tenant_id.set(tenant_id)
    try:
        with transaction.atomic(using=using):
            if not (nested and previous == tenant_id):  # else the setting is in force already
                _set_database_tenant(tenant_id, using)
            yield tenant_id
            # Outermost, the transaction ends here and the setting with it; nested in another
            # tenant's (or no tenant's) transaction, put theirs back. On an exception the
            # (sub)transaction rolls back, and the setting with it.
            if nested and previous != tenant_id:
                _set_database_tenant(previous, using)
    finally:
        _current_tenant_id.reset(token)
