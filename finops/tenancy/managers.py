"""Managers that fail closed: a tenant-owned queryset without a tenant raises."""

from __future__ import annotations

from django.db import models

from .context import require_tenant_id


class TenantQuerySet(models.QuerySet):
    pass


class TenantManager(models.Manager.from_queryset(TenantQuerySet)):
    def get_queryset(self) -> TenantQuerySet:
        return super().get_queryset().filter(tenant_id=require_tenant_id())

    def unscoped(self) -> TenantQuerySet:
        """Every tenant's rows as far as Python is concerned. Row-level security still applies:
        callers say, at the call site, why reading without the Python filter is safe."""
        return super().get_queryset()
