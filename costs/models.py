"""Cost items: one row per charge of a cost file, as the file says it, at full precision.

A cost item is one line of a cloud provider's FOCUS export (FinOps Open Cost and Usage
Specification 1.x) or of a generic cost file (date, vendor, description, amount, …). It keeps
four costs, each in the item's `billing_currency`:

- `billed_cost`: what the invoice says, when it says it (a one-time commitment purchase is billed
  in full in its month);
- `effective_cost`: the amortised cost after commitments and discounts, spread over the usage
  they cover — the figure to analyse, since billed cost shows a purchase as a spike and the usage
  it covers as free;
- `list_cost` and `contracted_cost`: the same usage at public and at negotiated prices (their gap
  to the effective cost is what discounts saved), when the file has them.

Costs carry fractions of a cent (a provider prices by the second): they are stored exactly, in
numeric(27, 12), and rounded only where they are shown, summed or posted. A cost that does not
fit (more than 15 digits before the point or 12 after) is refused by the importer, never rounded.

Items are facts from a file: never edited, never deleted (the runtime role may not). A
correction (`charge_class` = Correction) or a credit is its own row, and sums net it out.
Re-importing a file changes nothing: the job pipeline recognises the same bytes, and each row
carries the fingerprint of its content (`row_hash`) with its `occurrence` among identical rows
of its file, unique per tenant, so a charge that another file already brought is not counted twice.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from finops.jobs.models import Job
from finops.ledger.models import Account, CostCenter, Entity
from finops.tenancy.models import TenantModel

# One place defines a cost's precision: 15 digits before the point (`finops.bounds`), 12 after.
COST_DIGITS = {"max_digits": 27, "decimal_places": 12}
QUANTITY_DIGITS = COST_DIGITS


class ChargeCategory(models.TextChoices):
    USAGE = "Usage", "Usage"
    PURCHASE = "Purchase", "Purchase"
    TAX = "Tax", "Tax"
    CREDIT = "Credit", "Credit"
    ADJUSTMENT = "Adjustment", "Adjustment"


class ChargeClass(models.TextChoices):
    NONE = "", "—"
    CORRECTION = "Correction", "Correction"


class SourceFormat(models.TextChoices):
    FOCUS = "focus", "FOCUS export"
    CSV = "csv", "Generic CSV / XLSX"


class CostItem(TenantModel):
    # Facts from a file: corrections and credits are rows of their own, never edits.
    runtime_refuses = ("UPDATE", "DELETE")

    # (tenant_id, import_job_id) references jobs_job (tenant_id, id): finops/tenancy/keys.py
    import_job = models.ForeignKey(Job, on_delete=models.PROTECT, related_name="+", db_constraint=False,
                                   db_index=False)
    line = models.PositiveIntegerField()  # the file's line (header = 1)
    source_format = models.CharField(max_length=5, choices=SourceFormat.choices)
    row_hash = models.UUIDField()  # the fingerprint of the row's content (importers/staging.py)
    occurrence = models.PositiveIntegerField(default=1)  # among identical rows of its file

    # When: ChargePeriodStart/End (end exclusive in FOCUS), the billing period, and the month the
    # item counts in (its charge period's start) for grouping.
    charge_period_start = models.DateField()
    charge_period_end = models.DateField(null=True, blank=True)
    billing_period_start = models.DateField(null=True, blank=True)
    billing_period_end = models.DateField(null=True, blank=True)
    month = models.DateField()  # the first day of charge_period_start's month

    charge_category = models.CharField(max_length=10, choices=ChargeCategory.choices)
    charge_class = models.CharField(max_length=10, choices=ChargeClass.choices, blank=True)
    charge_frequency = models.CharField(max_length=40, blank=True)
    pricing_category = models.CharField(max_length=40, blank=True)
    description = models.TextField(blank=True)  # ChargeDescription, or a generic file's description

    # Who and what.
    provider = models.CharField(max_length=200, blank=True)  # ProviderName; a generic file's vendor
    publisher = models.CharField(max_length=200, blank=True)
    invoice_issuer = models.CharField(max_length=200, blank=True)
    vendor = models.CharField(max_length=200, blank=True)  # a generic file's vendor
    billing_account_id = models.CharField(max_length=200, blank=True)
    billing_account_name = models.CharField(max_length=200, blank=True)
    sub_account_id = models.CharField(max_length=200, blank=True)
    sub_account_name = models.CharField(max_length=200, blank=True)
    service_name = models.CharField(max_length=200, blank=True)
    service_category = models.CharField(max_length=100, blank=True)
    service_subcategory = models.CharField(max_length=100, blank=True)
    resource_id = models.TextField(blank=True)  # cloud resource ids run long (Azure: ~300 characters)
    resource_name = models.CharField(max_length=400, blank=True)
    resource_type = models.CharField(max_length=200, blank=True)
    region_id = models.CharField(max_length=100, blank=True)
    region_name = models.CharField(max_length=100, blank=True)
    availability_zone = models.CharField(max_length=100, blank=True)
    sku_id = models.CharField(max_length=200, blank=True)
    sku_price_id = models.CharField(max_length=200, blank=True)
    # A generic file's codes, as written: mapping them to the ledger's cost centers and accounts
    # is the mapping rules' work, not the import's.
    cost_center_code = models.CharField(max_length=100, blank=True)
    account_code = models.CharField(max_length=100, blank=True)

    # Money, all in billing_currency (ISO 4217), full precision.
    billing_currency = models.CharField(max_length=3)
    billed_cost = models.DecimalField(**COST_DIGITS)
    effective_cost = models.DecimalField(**COST_DIGITS)
    list_cost = models.DecimalField(**COST_DIGITS, null=True, blank=True)
    contracted_cost = models.DecimalField(**COST_DIGITS, null=True, blank=True)

    consumed_quantity = models.DecimalField(**QUANTITY_DIGITS, null=True, blank=True)
    consumed_unit = models.CharField(max_length=100, blank=True)
    pricing_quantity = models.DecimalField(**QUANTITY_DIGITS, null=True, blank=True)
    pricing_unit = models.CharField(max_length=100, blank=True)

    commitment_discount_id = models.TextField(blank=True)
    commitment_discount_name = models.CharField(max_length=400, blank=True)
    commitment_discount_category = models.CharField(max_length=20, blank=True)  # Spend, Usage
    commitment_discount_status = models.CharField(max_length=10, blank=True)  # Used, Unused
    commitment_discount_type = models.CharField(max_length=100, blank=True)
    commitment_discount_quantity = models.DecimalField(**QUANTITY_DIGITS, null=True, blank=True)
    commitment_discount_unit = models.CharField(max_length=100, blank=True)

    tags = models.JSONField(default=dict, blank=True)  # FOCUS Tags: a JSON object of labels
    x_columns = models.JSONField(default=dict, blank=True)  # the provider's own `x_` columns, as written
    other_columns = models.JSONField(default=dict, blank=True)  # other FOCUS columns not modelled above

    class Meta:
        ordering = ["-charge_period_start", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "row_hash", "occurrence"], name="costitem_row_unique"),
            models.CheckConstraint(condition=models.Q(charge_category__in=ChargeCategory.values),
                                   name="costitem_charge_category_valid"),
            models.CheckConstraint(condition=models.Q(charge_class__in=ChargeClass.values),
                                   name="costitem_charge_class_valid"),
            models.CheckConstraint(condition=models.Q(occurrence__gte=1), name="costitem_occurrence_positive"),
        ]
        indexes = [
            # Grouping by month, then provider / service (the summary, the explorer), in index order.
            models.Index(fields=["tenant", "month", "provider", "service_name"], name="costitem_month_idx"),
            models.Index(fields=["tenant", "service_name", "month"], name="costitem_service_idx"),
            models.Index(fields=["tenant", "cost_center_code", "month"], name="costitem_cost_center_idx"),
            models.Index(fields=["tenant", "account_code", "month"], name="costitem_account_idx"),
            models.Index(fields=["tenant", "import_job", "line"], name="costitem_job_idx"),
            models.Index(fields=["tenant", "-charge_period_start", "-id"], name="costitem_list_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.charge_period_start} {self.provider or self.vendor} {self.billed_cost} {self.billing_currency}"


# References to ledger rows: composite (tenant_id, …_id) keys from the migration (finops/tenancy/keys.py).
_REF = {"on_delete": models.PROTECT, "db_constraint": False, "db_index": False}


class MappingRule(TenantModel):
    """Which cost center and account cost items book to (costs/mapping.py reads these).

    A rule matches an item when every criterion it names matches (blank: any); `*` in a pattern
    stands for any text, and letters match regardless of case. Rules are tried by `priority`,
    lowest first (ties: the older rule): the first matching rule that names a cost center gives
    the item's cost center, and likewise for the account, so a broad rule can give the account
    and a narrower one the cost center. Mapping is computed, never stored on the items (they are
    facts): changing a rule re-maps every item at once, and the ledger postings follow."""

    priority = models.PositiveIntegerField(default=100)
    name = models.CharField(max_length=200)
    provider = models.CharField(max_length=200, blank=True)  # ProviderName, or a generic file's vendor
    service = models.CharField(max_length=200, blank=True)  # ServiceName
    charge_category = models.CharField(max_length=10, blank=True, choices=ChargeCategory.choices)
    sub_account = models.CharField(max_length=200, blank=True)  # SubAccountId or SubAccountName
    tag_key = models.CharField(max_length=200, blank=True)
    tag_value = models.CharField(max_length=200, blank=True)  # blank with a key: the tag is present
    cost_center = models.ForeignKey(CostCenter, null=True, blank=True, related_name="+", **_REF)
    account = models.ForeignKey(Account, null=True, blank=True, related_name="+", **_REF)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["priority", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(provider="", service="", charge_category="", sub_account="", tag_key=""),
                name="mappingrule_matches_something"),
            models.CheckConstraint(condition=models.Q(cost_center__isnull=False) | models.Q(account__isnull=False),
                                   name="mappingrule_maps_somewhere"),
            models.CheckConstraint(condition=models.Q(tag_value="") | ~models.Q(tag_key=""),
                                   name="mappingrule_tag_value_needs_key"),
        ]

    def __str__(self) -> str:
        return self.name


class Basis(models.TextChoices):
    EFFECTIVE = "effective", "Amortised (EffectiveCost)"
    BILLED = "billed", "Billed (BilledCost)"


class CostLedgerSettings(TenantModel):
    """How an organisation's cost data books to the ledger (costs/posting.py): one row per tenant.

    Each month's cost, per currency, posts as one entry of `entity`: expense by cost center and
    account (the mapping rules), against `accrual_account` (a liability: the invoice is still to
    come). What no rule maps books to `unallocated_account` (and `unallocated_cost_center`, if
    set), where the Costs → Mapping page shows it until a rule claims it."""

    entity = models.ForeignKey(Entity, related_name="+", **_REF)
    basis = models.CharField(max_length=9, choices=Basis.choices, default=Basis.EFFECTIVE)
    accrual_account = models.ForeignKey(Account, related_name="+", **_REF)
    unallocated_account = models.ForeignKey(Account, related_name="+", **_REF)
    unallocated_cost_center = models.ForeignKey(CostCenter, null=True, blank=True, related_name="+", **_REF)
    post_from = models.DateField(null=True, blank=True)  # the first month that posts (None: every month)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant"], name="costledgersettings_one_per_tenant")]
