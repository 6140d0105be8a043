"""Budgets: what an entity plans to earn and spend, by account × cost center × month.

A `Budget` belongs to one legal entity and one fiscal year; its amounts are in the entity's
functional currency. What it says lives in `BudgetVersion`s: the original, then revisions and
reforecasts, each pointing at the version it was copied from (`parent`), so any two can be
diffed line by line. A version moves draft → submitted → approved (or rejected, with a comment,
and back to editing) → locked; approved and locked versions are read-only, and changing one
means a new revision (`services.version_revise`).

`BudgetLine` amounts are in NATURAL sign, not the ledger's debit/credit sign: a revenue budget
of 100 is +100, an expense budget of 100 is +100. Reports turn actuals into natural sign from
the account's nature before comparing.

Like the ledger, every reference is a composite foreign key on (tenant_id, id) (migration
0001), so a budget row can never point at another tenant's entity, account or period.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from finops.ledger.models import AMOUNT_DIGITS, TOTAL_DIGITS, Account, CostCenter, Entity, Period
from finops.notifications.models import InboxItem
from finops.tenancy.models import TenantModel

# Django's single-column FK constraints and indexes are replaced by composite (tenant_id, …)
# keys in the migration and by indexes that lead with tenant_id.
_REF = {"on_delete": models.PROTECT, "db_constraint": False, "db_index": False}


class Budget(TenantModel):
    entity = models.ForeignKey(Entity, related_name="+", **_REF)
    fiscal_year = models.PositiveSmallIntegerField()  # FY label, as on ledger periods
    name = models.CharField(max_length=200)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-fiscal_year", "name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="budget_name_unique"),
        ]
        indexes = [models.Index(fields=["tenant", "fiscal_year", "entity"], name="budget_year_idx")]

    def __str__(self) -> str:
        return f"{self.name} (FY{self.fiscal_year})"


class VersionKind(models.TextChoices):
    ORIGINAL = "original", "Original"
    REVISION = "revision", "Revision"
    REFORECAST = "reforecast", "Reforecast"


class VersionStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    LOCKED = "locked", "Locked"


EDITABLE_STATUSES = frozenset({VersionStatus.DRAFT, VersionStatus.REJECTED})
OPEN_STATUSES = frozenset({VersionStatus.DRAFT, VersionStatus.SUBMITTED, VersionStatus.REJECTED})
FINAL_STATUSES = frozenset({VersionStatus.APPROVED, VersionStatus.LOCKED})


class BudgetVersion(TenantModel):
    budget = models.ForeignKey(Budget, related_name="versions", **_REF)
    kind = models.CharField(max_length=10, choices=VersionKind.choices)
    number = models.PositiveSmallIntegerField()  # 1 = the original, then 2, 3, … per budget
    parent = models.ForeignKey("self", null=True, blank=True, related_name="children", **_REF)
    status = models.CharField(max_length=10, choices=VersionStatus.choices, default=VersionStatus.DRAFT)
    rejection_comment = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    locked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["budget_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "budget", "number"], name="budgetversion_number_unique"),
            models.CheckConstraint(
                condition=models.Q(kind="original", parent__isnull=True)
                | (~models.Q(kind="original") & models.Q(parent__isnull=False)),
                name="budgetversion_parent_iff_not_original",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="rejected") | ~models.Q(rejection_comment=""),
                name="budgetversion_rejection_has_comment",
            ),
        ]

    def __str__(self) -> str:
        return f"v{self.number} {self.get_kind_display().lower()} ({self.get_status_display().lower()})"

    @property
    def is_editable(self) -> bool:
        return self.status in EDITABLE_STATUSES


class BudgetLine(TenantModel):
    version = models.ForeignKey(BudgetVersion, related_name="lines", **_REF)
    account = models.ForeignKey(Account, related_name="+", **_REF)
    cost_center = models.ForeignKey(CostCenter, null=True, blank=True, related_name="+", **_REF)
    period = models.ForeignKey(Period, related_name="+", **_REF)
    # Currency: the budget entity's functional currency. NATURAL sign (revenue 100 is +100).
    amount = models.DecimalField(**AMOUNT_DIGITS)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "version", "account", "cost_center", "period"],
                name="budgetline_cell_unique",
                nulls_distinct=False,
            ),
        ]
        indexes = [
            # Budget vs actual reads a version by period; a ledger account's budgets by account.
            models.Index(fields=["tenant", "version", "period"], include=["account", "cost_center", "amount"],
                         name="budgetline_period_idx"),
            models.Index(fields=["tenant", "account"], name="budgetline_account_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.account_id}/{self.cost_center_id}/{self.period_id}: {self.amount}"


class TransferStatus(models.TextChoices):
    REQUESTED = "requested", "Requested"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    CANCELLED = "cancelled", "Cancelled"


class TransferRequest(TenantModel):
    """A request to move `amount` from one budget line to another of the same version (another
    month, cost center or account of the same budget). Line amounts are never overwritten: an
    approved transfer adds to its destination's and subtracts from its source's EFFECTIVE amount
    (`transfers.effective_amounts`), so the original numbers stay visible beside the moves."""

    version = models.ForeignKey(BudgetVersion, related_name="transfers", **_REF)
    # Single-column FKs: BudgetLine has no (tenant_id, id) key; the service checks both lines
    # belong to `version`, and row-level security hides other tenants' lines.
    source = models.ForeignKey(BudgetLine, on_delete=models.PROTECT, related_name="+", db_index=False,
                               db_constraint=False)
    destination = models.ForeignKey(BudgetLine, on_delete=models.PROTECT, related_name="+", db_index=False,
                                    db_constraint=False)
    # Currency: the budget entity's functional currency, rounded to its minor unit. Always > 0.
    amount = models.DecimalField(**AMOUNT_DIGITS)
    reason = models.TextField()
    status = models.CharField(max_length=10, choices=TransferStatus.choices, default=TransferStatus.REQUESTED)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_comment = models.TextField(blank=True)
    # What the source line had available (effective − actual − pending outgoing) when requested:
    # a sum (of an actual too), so as wide as the rollup (finops/bounds.py).
    available_at_request = models.DecimalField(**TOTAL_DIGITS)
    override = models.BooleanField(default=False)  # finance let it exceed the available amount
    override_reason = models.TextField(blank=True)
    proposal = models.PositiveIntegerField(null=True, blank=True)  # "ROI proposal #n" it came from

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="transfer_amount_positive"),
            models.CheckConstraint(condition=~models.Q(source=models.F("destination")), name="transfer_two_lines"),
            models.CheckConstraint(condition=~models.Q(reason=""), name="transfer_has_reason"),
            models.CheckConstraint(condition=models.Q(override=False) | ~models.Q(override_reason=""),
                                   name="transfer_override_has_reason"),
            models.CheckConstraint(condition=~models.Q(status="rejected") | ~models.Q(decision_comment=""),
                                   name="transfer_rejection_has_comment"),
        ]
        indexes = [
            models.Index(fields=["tenant", "version", "status"], name="transfer_version_idx"),
            models.Index(fields=["tenant", "source", "status"], include=["amount"], name="transfer_source_idx"),
            models.Index(fields=["tenant", "destination", "status"], include=["amount"],
                         name="transfer_destination_idx"),
            models.Index(fields=["tenant", "status", "-requested_at"], name="transfer_status_idx"),
        ]

    def __str__(self) -> str:
        return f"Transfer #{self.pk}: {self.amount} ({self.status})"


# --- Variance alerts ---------------------------------------------------------------------------
# A rule watches one budget (its version in force, else its latest) and records an `Alert` the
# first time a line crosses one of its thresholds in a period; each alert is an item of the
# organisation's inbox and is e-mailed once per recipient through the kernel's outbox
# (`finops.notifications`, see `budgets.alerts`). References to budgets, the inbox item,
# accounts, cost centers, entities and periods are composite (tenant_id, id) keys (migration
# 0003); the alert tables point at each other with ordinary keys, written only by the services.


class AlertScope(models.TextChoices):
    ORGANIZATION = "organization", "Whole budget"
    COST_CENTER = "cost_center", "Cost-center subtree"
    ACCOUNT_TYPE = "account_type", "Account type"
    ACCOUNT = "account", "Account"


class AlertBasis(models.TextChoices):
    MONTH = "month", "Month to date, against the budget paced to the day"
    YTD = "ytd", "Year to date, against the budget paced to the day"
    PROJECTED = "projected", "Projected full year (run rate of the complete months)"


class AlertDeliveryMode(models.TextChoices):
    IMMEDIATE = "immediate", "Immediately"
    DIGEST = "digest", "Daily digest"


class AlertRule(TenantModel):
    name = models.CharField(max_length=200)
    budget = models.ForeignKey(Budget, related_name="+", **_REF)
    scope = models.CharField(max_length=12, choices=AlertScope.choices, default=AlertScope.ORGANIZATION)
    cost_center = models.ForeignKey(CostCenter, null=True, blank=True, related_name="+", **_REF)
    account_type = models.CharField(max_length=10, blank=True)  # revenue / expense, for that scope
    account = models.ForeignKey(Account, null=True, blank=True, related_name="+", **_REF)
    basis = models.CharField(max_length=10, choices=AlertBasis.choices, default=AlertBasis.MONTH)
    recipient_roles = models.JSONField(default=list, blank=True)  # e.g. ["finance", "admin"]
    notify_cost_center_owners = models.BooleanField(default=False)
    extra_recipients = models.TextField(blank=True)  # e-mail addresses, comma or line separated
    delivery = models.CharField(max_length=10, choices=AlertDeliveryMode.choices, default=AlertDeliveryMode.IMMEDIATE)
    # Variance thresholds: watch both directions (a line far above plan may be a misposting), or
    # only lines doing worse than plan (revenue below, expense above budget).
    unfavourable_only = models.BooleanField(default=False)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="alertrule_name_unique"),
            models.CheckConstraint(condition=~models.Q(scope="cost_center") | models.Q(cost_center__isnull=False),
                                   name="alertrule_cost_center_scope"),
            models.CheckConstraint(condition=~models.Q(scope="account_type") | ~models.Q(account_type=""),
                                   name="alertrule_account_type_scope"),
            models.CheckConstraint(condition=~models.Q(scope="account") | models.Q(account__isnull=False),
                                   name="alertrule_account_scope"),
        ]
        indexes = [models.Index(fields=["tenant", "active"], name="alertrule_active_idx")]

    def __str__(self) -> str:
        return self.name


class ThresholdKind(models.TextChoices):
    CONSUMED_PCT = "consumed_pct", "Budget consumed"
    VARIANCE = "variance", "Variance"


class AlertThreshold(TenantModel):
    """consumed_pct: fires when actual / budget × 100 ≥ `pct` (expense lines). variance: fires
    when |variance %| ≥ `pct` AND |variance| ≥ `amount` (either direction)."""

    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="thresholds", db_constraint=False)
    kind = models.CharField(max_length=12, choices=ThresholdKind.choices)
    pct = models.DecimalField(max_digits=7, decimal_places=2)
    amount = models.DecimalField(max_digits=20, decimal_places=4, default=0)  # variance only
    # Set when an edit removed a threshold that had alerts: deleting it would delete them (ON
    # DELETE CASCADE), so it stays, unevaluated, with its history (`budgets.alerts.rules`).
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["rule_id", "kind", "pct"]
        constraints = [
            models.CheckConstraint(condition=models.Q(pct__gte=0) & models.Q(amount__gte=0),
                                   name="alertthreshold_positive"),
        ]

    def __str__(self) -> str:
        if self.kind == ThresholdKind.CONSUMED_PCT:
            return f"{self.pct.normalize():f} % of budget consumed"
        # A variance threshold may give the percentage, the amount or both (0: not given).
        parts = [f"±{self.pct.normalize():f} %" if self.pct else "", f"±{self.amount.normalize():f}" if self.amount else ""]
        return "variance beyond " + " and ".join(p for p in parts if p)


class Alert(TenantModel):
    """One budget line off plan: rule × account × cost center × period, at the highest threshold
    it has crossed. Crossing a higher one later escalates this row (never a second alert)."""

    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="alerts", db_constraint=False)
    threshold = models.ForeignKey(AlertThreshold, on_delete=models.CASCADE, related_name="alerts", db_constraint=False)
    entity = models.ForeignKey(Entity, related_name="+", **_REF)
    account = models.ForeignKey(Account, related_name="+", **_REF)
    cost_center = models.ForeignKey(CostCenter, null=True, blank=True, related_name="+", **_REF)
    period = models.ForeignKey(Period, related_name="+", **_REF)
    # Observed when recorded, natural sign, the budget entity's functional currency. Sums over the
    # rule's basis (a year of a line), so as wide as the rollup; a percentage of such a sum over
    # the smallest budget (0.0001) is < 10^30 (finops/bounds.py).
    actual = models.DecimalField(**TOTAL_DIGITS)
    budget = models.DecimalField(**TOTAL_DIGITS)
    variance = models.DecimalField(**TOTAL_DIGITS)
    pct = models.DecimalField(max_digits=32, decimal_places=2, null=True, blank=True)  # consumed or variance %
    created_at = models.DateTimeField(auto_now_add=True)
    as_of = models.DateField(null=True, blank=True)  # the day evaluated when raised or last escalated
    escalations = models.PositiveSmallIntegerField(default=0)  # times it climbed to a higher threshold
    escalated_at = models.DateTimeField(null=True, blank=True)
    # Its item in the organisation's inbox (status, who acknowledged, snooze): set in the
    # transaction that records the alert (`alerts._record`).
    item = models.ForeignKey(InboxItem, null=True, blank=True, related_name="+", **_REF)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "rule", "account", "cost_center", "period"],
                                    name="alert_line_unique", nulls_distinct=False),
        ]
        indexes = [models.Index(fields=["tenant", "-created_at"], name="alert_created_idx")]

    def __str__(self) -> str:
        return f"Alert #{self.pk}"
