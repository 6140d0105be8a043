"""The two kinds of cost file, column by column: which cost item field each column fills, how
its cells are read (`cells.py`), and which columns a file must have.

FOCUS (FinOps Open Cost and Usage Specification 1.x): columns are found by name, in any order
and any case (`SkuPriceid` is `SkuPriceId`); a column of the specification that is not modelled
on `CostItem` is kept in `other_columns`, and the provider's own `x_` columns in `x_columns`, so
nothing a file says is lost. A file without a BillingCurrency column (the specification's own
samples have none) is in the organisation's currency, and the import says so.

Generic (a CSV or XLSX file anyone can write): date, vendor, description, amount, currency,
cost_center, account, tags. The amount is both the billed and the effective cost (there is no
commitment to amortise); a negative amount is a credit; an empty currency is the organisation's;
the vendor is also the item's provider, so grouping by provider covers both kinds of file.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..models import ChargeCategory, SourceFormat

# How a column's cells are read (rows.py dispatches on these).
TEXT, DATE, COST, CURRENCY, CATEGORY, CLASS, STATUS, DISCOUNT_CATEGORY, TAGS, LOOSE_TAGS = (
    "text", "date", "cost", "currency", "category", "class", "status", "discount_category", "tags", "loose_tags")


@dataclass(frozen=True)
class Column:
    name: str  # as the format spells it
    field: str  # the CostItem field it fills
    kind: str = TEXT
    required: bool = False  # in the header, and never empty in a row


@dataclass(frozen=True)
class CostFormat:
    name: str  # SourceFormat
    columns: tuple[Column, ...]
    hint: str  # what the header must name, for the message when a required column is missing

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)


FOCUS = CostFormat(
    name=SourceFormat.FOCUS,
    hint="A FOCUS export names at least ChargePeriodStart, ChargeCategory, BilledCost and EffectiveCost.",
    columns=(
        Column("ChargePeriodStart", "charge_period_start", DATE, required=True),
        Column("ChargePeriodEnd", "charge_period_end", DATE),
        Column("BillingPeriodStart", "billing_period_start", DATE),
        Column("BillingPeriodEnd", "billing_period_end", DATE),
        Column("ChargeCategory", "charge_category", CATEGORY, required=True),
        Column("ChargeClass", "charge_class", CLASS),
        Column("ChargeDescription", "description"),
        Column("ChargeFrequency", "charge_frequency"),
        Column("PricingCategory", "pricing_category"),
        Column("ProviderName", "provider"),
        Column("PublisherName", "publisher"),
        Column("InvoiceIssuerName", "invoice_issuer"),
        Column("BillingAccountId", "billing_account_id"),
        Column("BillingAccountName", "billing_account_name"),
        Column("SubAccountId", "sub_account_id"),
        Column("SubAccountName", "sub_account_name"),
        Column("ServiceName", "service_name"),
        Column("ServiceCategory", "service_category"),
        Column("ServiceSubcategory", "service_subcategory"),
        Column("ResourceId", "resource_id"),
        Column("ResourceName", "resource_name"),
        Column("ResourceType", "resource_type"),
        Column("RegionId", "region_id"),
        Column("RegionName", "region_name"),
        Column("AvailabilityZone", "availability_zone"),
        Column("SkuId", "sku_id"),
        Column("SkuPriceId", "sku_price_id"),
        Column("BillingCurrency", "billing_currency", CURRENCY),
        Column("BilledCost", "billed_cost", COST, required=True),
        Column("EffectiveCost", "effective_cost", COST, required=True),
        Column("ListCost", "list_cost", COST),
        Column("ContractedCost", "contracted_cost", COST),
        Column("ConsumedQuantity", "consumed_quantity", COST),
        Column("ConsumedUnit", "consumed_unit"),
        Column("PricingQuantity", "pricing_quantity", COST),
        Column("PricingUnit", "pricing_unit"),
        Column("CommitmentDiscountId", "commitment_discount_id"),
        Column("CommitmentDiscountName", "commitment_discount_name"),
        Column("CommitmentDiscountCategory", "commitment_discount_category", DISCOUNT_CATEGORY),
        Column("CommitmentDiscountStatus", "commitment_discount_status", STATUS),
        Column("CommitmentDiscountType", "commitment_discount_type"),
        Column("CommitmentDiscountQuantity", "commitment_discount_quantity", COST),
        Column("CommitmentDiscountUnit", "commitment_discount_unit"),
        Column("Tags", "tags", TAGS),
    ),
)

GENERIC = CostFormat(
    name=SourceFormat.CSV,
    hint="The header must name date and amount, and may name vendor, description, currency, cost_center, "
         "account and tags.",
    columns=(
        Column("date", "charge_period_start", DATE, required=True),
        Column("vendor", "vendor"),
        Column("description", "description"),
        Column("amount", "billed_cost", COST, required=True),
        Column("currency", "billing_currency", CURRENCY),
        Column("cost_center", "cost_center_code"),
        Column("account", "account_code"),
        Column("tags", "tags", LOOSE_TAGS),
    ),
)

FORMATS = {f.name: f for f in (FOCUS, GENERIC)}
GENERIC_COLUMNS = tuple(c.name for c in GENERIC.columns)


def generic_complete(values: dict) -> None:
    """What a generic row implies: its amount is billed and effective, a negative one is a credit,
    its vendor is its provider."""
    amount = values["billed_cost"]
    values["effective_cost"] = amount
    values["charge_category"] = ChargeCategory.CREDIT if amount < 0 else ChargeCategory.USAGE
    values["provider"] = values.get("vendor", "")
