"""Every write of costs: bringing cost files in, the mapping rules, the ledger settings.

An upload is recorded as a job of kind `costs` (the kernel's job pipeline, `finops.jobs`: the
file is kept in the row, its format in the params), and a worker imports it
(`tasks.cost_import_run_task` → `cost_import_run`) while the page polls the job's progress. The
command runs the same job in its own process. A file a succeeded import brought in already
becomes a finished `duplicate` job at once, without being read.

A mapping rule or the ledger settings, once saved, re-post the months they change after commit
(`posting.ledger_refresh_on_commit`): by reversal and a new entry, and only where lines moved.

Who may: only roles that may change the books (finance, admin) import, write rules and settings;
the rule is here, so the page, the command, a task and the API meet it alike
(`finops.tenancy.policy`).
"""

from __future__ import annotations

import logging
from datetime import date

from django.db import transaction

from finops import bounds
from finops.audit.actions import AuditAction
from finops.audit.services import audit_record
from finops.errors import DomainError
from finops.jobs.models import Job, JobStatus
from finops.jobs.records import job_content, job_finish, job_get, job_record
from finops.jobs.runs import job_heartbeat, job_start
from finops.ledger.models import Account, AccountType, CostCenter, Entity
from finops.tenancy.context import tenant_context
from finops.tenancy.permissions import Action
from finops.tenancy.policy import requires

from .importers import COSTS, FORMATS, cost_import
from .models import Basis, ChargeCategory, CostLedgerSettings, MappingRule
from .posting import ledger_refresh_on_commit

log = logging.getLogger(__name__)


@requires(Action.WRITE, "import cost data")
def cost_import_create(*, tenant, actor, filename: str, data: bytes, source_format: str,
                       enqueue: bool = True) -> Job:
    """Record an uploaded cost file as a job and, after commit, hand it to a worker. Nothing in
    the file is read here: only its size, and that the format is one the importer knows."""
    if source_format not in FORMATS:
        raise DomainError(f"Unknown cost file format “{source_format}”: choose focus (a FOCUS export) or csv "
                          "(date, vendor, description, amount, …).")
    return job_record(tenant=tenant, actor=actor, kind=COSTS, filename=filename, data=data,
                      params={"format": source_format}, enqueue=enqueue)


def cost_import_run(*, tenant, job_id: int) -> Job | None:
    """Run a queued cost import (what the worker and the command do). Safe to run twice: a
    finished job, or one another worker is running (fresh heartbeat), is left alone
    (`finops.jobs.runs.job_start`); two runs that both start serialise in `cost_import`, and the
    second finds the job finished. The items and the job's outcome commit together."""
    if job_start(tenant=tenant, pk=job_id):
        with job_heartbeat(tenant=tenant, pk=job_id):
            _run(tenant=tenant, job_id=job_id)
    return job_get(tenant=tenant, kind=COSTS, pk=job_id)


def _run(*, tenant, job_id: int) -> None:
    try:
        with tenant_context(tenant):
            job = Job.objects.defer("content").select_related("created_by").get(kind=COSTS, pk=job_id)
            data = job_content(job_id=job_id)
        cost_import(tenant=tenant, actor=job.created_by, data=data, filename=job.filename,
                    source_format=job.params.get("format", ""), job=job)
    except Exception as exc:
        log.exception("cost import job %s failed", job_id)
        with tenant_context(tenant):
            job = Job.objects.select_for_update(no_key=True).defer("content").get(pk=job_id)
            if not job.is_finished:
                job_finish(job, status=JobStatus.FAILED, message=(
                    f"The import stopped on an unexpected error ({exc.__class__.__name__}); nothing was written. "
                    "Try again; if it fails again, tell your administrator."))


MAX_PRIORITY = 1_000_000
_RULE_TEXTS = {"name": 200, "provider": 200, "service": 200, "sub_account": 200, "tag_key": 200, "tag_value": 200}


def _rule_state(rule: MappingRule) -> dict:
    return {"name": rule.name, "priority": rule.priority, "provider": rule.provider, "service": rule.service,
            "charge_category": rule.charge_category, "sub_account": rule.sub_account, "tag_key": rule.tag_key,
            "tag_value": rule.tag_value, "cost_center": rule.cost_center_id, "account": rule.account_id,
            "active": rule.active}


def _expense_account(account: Account | None, *, what: str) -> None:
    if account is None:
        return
    if account.type != AccountType.EXPENSE:
        raise DomainError(f"{what} must be an expense account; {account} is {account.get_type_display().lower()}.")
    if not account.active:
        raise DomainError(f"{what}: account {account} is inactive.")


@requires(Action.WRITE, "change the mapping rules")
def mapping_rule_save(*, tenant, actor, rule: MappingRule | None = None, name: str, priority: int = 100,
                      provider: str = "", service: str = "", charge_category: str = "", sub_account: str = "",
                      tag_key: str = "", tag_value: str = "", cost_center: CostCenter | None = None,
                      account: Account | None = None, active: bool = True) -> MappingRule:
    """Create a mapping rule, or change `rule`. It must match on something and map to a cost
    center, an expense account or both; every cost month re-posts what the change moves."""
    texts = {"name": name, "provider": provider, "service": service, "sub_account": sub_account,
             "tag_key": tag_key, "tag_value": tag_value}
    texts = {k: (v or "").strip() for k, v in texts.items()}
    if not texts["name"]:
        raise DomainError("Give the rule a name.")
    for key, limit in _RULE_TEXTS.items():
        if len(texts[key]) > limit:
            raise DomainError(f"The {key.replace('_', ' ')} has {len(texts[key])} characters; at most {limit} are allowed.")
    if not any(texts[k] for k in ("provider", "service", "sub_account", "tag_key")) and not charge_category:
        raise DomainError("Say what the rule matches: a provider, a service, a charge category, a sub-account or a tag.")
    if texts["tag_value"] and not texts["tag_key"]:
        raise DomainError("A tag value needs the tag's key.")
    if charge_category and charge_category not in ChargeCategory.values:
        raise DomainError(f"Unknown charge category “{charge_category}”: choose one of {', '.join(ChargeCategory.values)}.")
    if cost_center is None and account is None:
        raise DomainError("Say where the rule maps to: a cost center, an account or both.")
    if not isinstance(priority, int) or not 0 <= priority <= MAX_PRIORITY:
        raise DomainError(f"The priority is a whole number from 0 to {MAX_PRIORITY:,} (lower is tried first).")
    with tenant_context(tenant) as tenant_id:
        for ref in (cost_center, account):
            if ref is not None and ref.tenant_id != tenant_id:
                raise DomainError("Unknown cost center or account.")
        if cost_center is not None and not cost_center.active:
            raise DomainError(f"Cost center {cost_center} is inactive.")
        _expense_account(account, what="The rule's account")
        before = _rule_state(rule) if rule is not None else None
        if rule is None:
            rule = MappingRule(tenant_id=tenant_id)
        elif rule.tenant_id != tenant_id:
            raise DomainError("Unknown mapping rule.")
        for key, value in texts.items():
            setattr(rule, key, value)
        rule.priority, rule.charge_category, rule.active = priority, charge_category or "", bool(active)
        rule.cost_center, rule.account = cost_center, account
        with transaction.atomic():
            rule.save()
            audit_record(tenant=tenant, actor=actor, obj=rule, before=before, after=_rule_state(rule),
                         action=AuditAction.COST_MAPPING_RULE_UPDATE if before else AuditAction.COST_MAPPING_RULE_CREATE)
            ledger_refresh_on_commit(tenant_id=tenant_id)
        return rule


@requires(Action.WRITE, "change the mapping rules")
def mapping_rule_delete(*, tenant, actor, rule: MappingRule) -> None:
    """Delete a rule: what it mapped falls to the next rule, or to unallocated, and re-posts."""
    with tenant_context(tenant) as tenant_id, transaction.atomic():
        before = _rule_state(rule)
        audit_record(tenant=tenant, actor=actor, action=AuditAction.COST_MAPPING_RULE_DELETE, obj=rule, before=before)
        MappingRule.objects.filter(pk=rule.pk).delete()
        ledger_refresh_on_commit(tenant_id=tenant_id)


@requires(Action.WRITE, "change how cost data posts to the ledger")
def cost_ledger_settings_save(*, tenant, actor, entity: Entity, accrual_account: Account,
                              unallocated_account: Account, unallocated_cost_center: CostCenter | None = None,
                              basis: str = Basis.EFFECTIVE, post_from: date | None = None) -> CostLedgerSettings:
    """Say how cost data books: which entity, on which basis, against which accrual account, and
    where unallocated cost goes. Saving posts every month in step (after commit)."""
    if basis not in Basis.values:
        raise DomainError(f"Unknown basis “{basis}”: choose effective (amortised) or billed.")
    if accrual_account.type != AccountType.LIABILITY:
        raise DomainError(f"The accrual account must be a liability; {accrual_account} is "
                          f"{accrual_account.get_type_display().lower()}.")
    if not accrual_account.active:
        raise DomainError(f"The accrual account {accrual_account} is inactive.")
    _expense_account(unallocated_account, what="The unallocated account")
    if unallocated_cost_center is not None and not unallocated_cost_center.active:
        raise DomainError(f"Cost center {unallocated_cost_center} is inactive.")
    if post_from is not None:
        bounds.date_require(post_from, what="first month to post")
        post_from = post_from.replace(day=1)
    with tenant_context(tenant) as tenant_id, transaction.atomic():
        for ref in (entity, accrual_account, unallocated_account, unallocated_cost_center):
            if ref is not None and ref.tenant_id != tenant_id:
                raise DomainError("Unknown entity, account or cost center.")
        settings = CostLedgerSettings.objects.select_for_update().first() or CostLedgerSettings(tenant_id=tenant_id)
        before = _settings_state(settings) if settings.pk else None
        settings.entity, settings.basis, settings.accrual_account = entity, basis, accrual_account
        settings.unallocated_account, settings.unallocated_cost_center = unallocated_account, unallocated_cost_center
        settings.post_from, settings.updated_by = post_from, actor if getattr(actor, "pk", None) else None
        settings.save()
        audit_record(tenant=tenant, actor=actor, action=AuditAction.COST_LEDGER_SETTINGS_SAVE, obj=settings,
                     object_repr="Cost ledger settings", before=before, after=_settings_state(settings))
        ledger_refresh_on_commit(tenant_id=tenant_id)
        return settings


def _settings_state(settings: CostLedgerSettings) -> dict:
    return {"entity": settings.entity_id, "basis": settings.basis, "accrual_account": settings.accrual_account_id,
            "unallocated_account": settings.unallocated_account_id,
            "unallocated_cost_center": settings.unallocated_cost_center_id,
            "post_from": settings.post_from.isoformat() if settings.post_from else None}
