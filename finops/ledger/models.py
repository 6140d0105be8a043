"""The shared ledger: double entry in each legal entity's functional currency.

A `JournalEntry` is one balanced business event; its `JournalLine`s carry signed amounts in the
entity's functional currency (debit positive, credit negative), so a plain SUM is a balance.
Each line also keeps what the source document said: the transaction currency amount and the
rate used to translate it.

PostgreSQL, not Python, holds the ledger's invariants (see migration 0002):
- posted entries and lines are immutable: UPDATE and DELETE raise; corrections are reversals;
- every entry balances to zero and has at least two lines (checked after each INSERT statement,
  so an entry's lines are written by one statement: a COPY or one multi-row INSERT);
- nothing is posted into a closed period, and an entry's date lies inside its period; periods
  and FX rates lie inside the date wall 1900-01-01 … 2999-12-31 (migration 0010, under the
  narrower window `finops.bounds` applies to what enters);
- a line agrees with its entry on tenant, entity, period and date, and refers only to accounts
  and cost centers of its own tenant (composite foreign keys on tenant_id);
- `PeriodBalance` (tenant, entity, account, cost center, period) is updated by the same trigger,
  so every report can read the rollup and it can never drift from the lines.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from djmoney.models.fields import CurrencyField

from finops.tenancy.models import TenantModel

AMOUNT_DIGITS = {"max_digits": 20, "decimal_places": 4}  # one place defines stored precision
# A column that holds a SUM of amounts (a rollup cell, an alert's actual): wide enough that no
# realistic number of rows can overflow it (the arithmetic: finops/bounds.py).
TOTAL_DIGITS = {"max_digits": 28, "decimal_places": 4}
RATE_DIGITS = {"max_digits": 24, "decimal_places": 10}


class AccountType(models.TextChoices):
    ASSET = "asset", "Asset"
    LIABILITY = "liability", "Liability"
    EQUITY = "equity", "Equity"
    REVENUE = "revenue", "Revenue"
    EXPENSE = "expense", "Expense"


class NormalBalance(models.TextChoices):
    DEBIT = "debit", "Debit"
    CREDIT = "credit", "Credit"


NORMAL_BALANCE_OF = {
    AccountType.ASSET: NormalBalance.DEBIT,
    AccountType.EXPENSE: NormalBalance.DEBIT,
    AccountType.LIABILITY: NormalBalance.CREDIT,
    AccountType.EQUITY: NormalBalance.CREDIT,
    AccountType.REVENUE: NormalBalance.CREDIT,
}


class Entity(TenantModel):
    """A legal entity; its books are kept in its functional currency."""

    # Never deleted (deactivate instead): the runtime role may not, and a trigger refuses it.
    runtime_refuses = ("DELETE",)

    code = models.CharField(max_length=20)
    name = models.CharField(max_length=200)
    functional_currency = CurrencyField()
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]
        verbose_name_plural = "entities"
        constraints = [
            models.UniqueConstraint(fields=["tenant", "code"], name="entity_code_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.code} · {self.name}"


class Account(TenantModel):
    # Never deleted (deactivate instead): the runtime role may not, and a trigger refuses it.
    runtime_refuses = ("DELETE",)

    code = models.CharField(max_length=20)
    name = models.CharField(max_length=200)
    type = models.CharField(max_length=10, choices=AccountType.choices)
    normal_balance = models.CharField(max_length=6, choices=NormalBalance.choices)
    # (tenant_id, parent_id) references (tenant_id, id): finops/tenancy/keys.py
    parent = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="children",
                               db_constraint=False)
    active = models.BooleanField(default=True)
    is_intercompany = models.BooleanField(default=False)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "code"], name="account_code_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.code} · {self.name}"


class CostCenter(TenantModel):
    # Never deleted (deactivate instead): the runtime role may not, and a trigger refuses it.
    runtime_refuses = ("DELETE",)

    code = models.CharField(max_length=20)
    name = models.CharField(max_length=200)
    # (tenant_id, parent_id) references (tenant_id, id): finops/tenancy/keys.py
    parent = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="children",
                               db_constraint=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "code"], name="costcenter_code_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.code} · {self.name}"


class PeriodStatus(models.TextChoices):
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"


class Period(TenantModel):
    """A calendar month inside a fiscal year. FY labels follow the year in which the FY ends."""

    # Never deleted (deactivate instead): the runtime role may not, and a trigger refuses it.
    runtime_refuses = ("DELETE",)

    fiscal_year = models.PositiveSmallIntegerField()
    number = models.PositiveSmallIntegerField()  # 1..12 within the fiscal year
    start = models.DateField()
    end = models.DateField()
    status = models.CharField(max_length=6, choices=PeriodStatus.choices, default=PeriodStatus.OPEN)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    status_changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["start"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "start"], name="period_start_unique"),
            models.UniqueConstraint(fields=["tenant", "fiscal_year", "number"], name="period_number_unique"),
            models.CheckConstraint(condition=models.Q(number__gte=1, number__lte=12), name="period_number_range"),
            models.CheckConstraint(condition=models.Q(end__gte=models.F("start")), name="period_end_after_start"),
        ]

    def __str__(self) -> str:
        return f"{self.start:%Y-%m} (FY{self.fiscal_year} P{self.number})"

    @property
    def label(self) -> str:
        return f"{self.start:%Y-%m}"

    @property
    def is_closed(self) -> bool:
        return self.status == PeriodStatus.CLOSED


class FxRateKind(models.TextChoices):
    AVERAGE = "average", "Monthly average"
    CLOSING = "closing", "Closing"
    BUDGET = "budget", "Budget rate"  # one per pair and fiscal year: what the budgets were set at


class FxRate(TenantModel):
    """1 unit of `from_currency` = `rate` units of `to_currency`.

    Average rates are dated on the first day of their month and translate flows (P&L, and
    foreign-currency transactions); closing rates are dated on the month's last day; budget
    rates (the rate a year's budgets were set at) on the first day of their fiscal year.
    """

    date = models.DateField()
    from_currency = CurrencyField()
    to_currency = CurrencyField()
    rate = models.DecimalField(**RATE_DIGITS)
    kind = models.CharField(max_length=8, choices=FxRateKind.choices)

    class Meta:
        ordering = ["-date", "from_currency", "to_currency"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "date", "from_currency", "to_currency", "kind"], name="fxrate_unique"
            ),
            models.CheckConstraint(condition=models.Q(rate__gt=0), name="fxrate_positive"),
            models.CheckConstraint(
                condition=~models.Q(from_currency=models.F("to_currency")), name="fxrate_distinct_currencies"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.from_currency}→{self.to_currency} {self.rate} ({self.kind})"


class Source(models.TextChoices):
    MANUAL = "manual", "Manual"
    IMPORT = "import", "Import"
    REVERSAL = "reversal", "Reversal"
    RECOGNITION = "recognition", "Revenue recognition"
    ALLOCATION = "allocation", "Cost allocation"
    COSTS = "costs", "Cost data"
    SYSTEM = "system", "System"
    API = "api", "API"


class JournalEntry(TenantModel):
    # Posted rows never change: the runtime role may not, and a trigger refuses it.
    runtime_refuses = ("UPDATE", "DELETE")

    # Foreign keys without Django's single-column constraints: migration 0002 adds composite
    # (tenant_id, ...) keys instead, so an entry can never point at another tenant's rows.
    entity = models.ForeignKey(Entity, on_delete=models.PROTECT, db_constraint=False, db_index=False, related_name="+")
    period = models.ForeignKey(Period, on_delete=models.PROTECT, db_constraint=False, db_index=False, related_name="+")
    date = models.DateField()
    memo = models.CharField(max_length=500, blank=True)
    reference = models.CharField(max_length=100, blank=True)  # the source document's id (entry_ref)
    source = models.CharField(max_length=12, choices=Source.choices)
    idempotency_key = models.CharField(max_length=200)
    reverses = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, db_constraint=False, related_name="reversed_by"
    )
    import_job_id = models.BigIntegerField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    posted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-date", "-id"]
        verbose_name_plural = "journal entries"
        constraints = [
            models.UniqueConstraint(fields=["tenant", "idempotency_key"], name="journalentry_idempotency_unique"),
        ]
        indexes = [models.Index(fields=["tenant", "-date", "-id"], name="journalentry_date_idx")]

    def __str__(self) -> str:
        return f"JE-{self.pk} {self.date} {self.memo}".strip()


class JournalLine(TenantModel):
    # Posted rows never change: the runtime role may not, and a trigger refuses it.
    runtime_refuses = ("UPDATE", "DELETE")

    # The composite key to the entry already ties the line to an existing tenant.
    tenant = models.ForeignKey(
        "tenancy.Organization", on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False
    )
    entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, db_constraint=False, db_index=False, related_name="lines")
    line_no = models.PositiveSmallIntegerField()
    # Denormalised from the entry (a composite foreign key keeps them equal) so reports and
    # drill-downs read lines without a join.
    entity = models.ForeignKey(Entity, on_delete=models.PROTECT, db_constraint=False, db_index=False, related_name="+")
    period = models.ForeignKey(Period, on_delete=models.PROTECT, db_constraint=False, db_index=False, related_name="+")
    date = models.DateField()
    account = models.ForeignKey(Account, on_delete=models.PROTECT, db_constraint=False, db_index=False, related_name="+")
    cost_center = models.ForeignKey(
        CostCenter, on_delete=models.PROTECT, null=True, blank=True, db_constraint=False, db_index=False, related_name="+"
    )
    # Currency: the entity's functional currency. Signed: debit positive, credit negative.
    amount = models.DecimalField(**AMOUNT_DIGITS)
    # Currency: `txn_currency`, as the source document stated it; `rate` translated it.
    txn_amount = models.DecimalField(**AMOUNT_DIGITS)
    txn_currency = CurrencyField()
    rate = models.DecimalField(**RATE_DIGITS)
    memo = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["entry_id", "line_no"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "entry", "line_no"], name="journalline_entry_line_unique"),
            models.CheckConstraint(condition=~models.Q(amount=0) | ~models.Q(txn_amount=0), name="journalline_nonzero"),
        ]
        indexes = [
            models.Index(fields=["tenant", "-date", "-entry"], name="journalline_date_idx"),
            models.Index(fields=["tenant", "account", "date"], name="journalline_account_idx"),
            models.Index(fields=["tenant", "cost_center", "date"], name="journalline_costcenter_idx"),
        ]

    @property
    def debit(self):
        return self.amount if self.amount > 0 else None

    @property
    def credit(self):
        return -self.amount if self.amount < 0 else None


class PeriodBalance(TenantModel):
    """The rollup every report reads: the net of all lines per (entity, account, cost center,
    period), in the entity's functional currency. Written only by the ledger's rollup trigger,
    which runs as the owner (ledger migration 0014): a cell changes only by posting lines."""

    # The runtime role only reads it: the rollup trigger writes it as the owner (finops.dbsetup).
    runtime_refuses = ("INSERT", "UPDATE", "DELETE")

    # No foreign-key constraints: rows come only from lines the ledger's trigger has checked,
    # and per-row deferred FK checks doubled the commit time of a bulk import.
    tenant = models.ForeignKey(
        "tenancy.Organization", on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False
    )
    entity = models.ForeignKey(Entity, on_delete=models.PROTECT, db_index=False, db_constraint=False, related_name="+")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, db_index=False, db_constraint=False, related_name="+")
    cost_center = models.ForeignKey(
        CostCenter, on_delete=models.PROTECT, null=True, db_index=False, db_constraint=False, related_name="+"
    )
    period = models.ForeignKey(Period, on_delete=models.PROTECT, db_index=False, db_constraint=False, related_name="+")
    amount = models.DecimalField(**TOTAL_DIGITS)  # currency: the entity's functional currency
    line_count = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "entity", "account", "cost_center", "period"],
                name="periodbalance_key",
                nulls_distinct=False,
            )
        ]
        indexes = [
            models.Index(
                fields=["tenant", "period"], include=["entity", "account", "amount"], name="periodbalance_period_idx"
            )
        ]


class DerivedPosting(TenantModel):
    """An entry the product derives from other data and keeps in step with it (finops/ledger/
    derived.py): a month's cost data, an allocation run. `kind` and `key` name what it stands for
    ("costs", "2025-04:USD"); `entry` is the entry posted for it now (None: nothing to post, or
    nothing could be), `digest` the fingerprint of its lines, `problem` why the last attempt could
    not post, in words. A change posts by reversal and a new entry (`version` + 1), never an edit."""

    kind = models.CharField(max_length=20)
    key = models.CharField(max_length=200)
    month = models.DateField()  # the month the entry is for (it may post later: a closed month's change)
    currency = models.CharField(max_length=3, blank=True)  # of its lines; "" when they mix currencies
    # (tenant_id, entry_id) references the entry (tenant_id, id): migration 0015.
    entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, null=True, blank=True, db_constraint=False,
                              db_index=False, related_name="+")
    version = models.PositiveIntegerField(default=0)
    digest = models.CharField(max_length=64, blank=True)
    amount = models.DecimalField(**AMOUNT_DIGITS, default=0)  # Σ debits of its lines, in `currency`
    problem = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-month", "key"]
        constraints = [models.UniqueConstraint(fields=["tenant", "kind", "key"], name="derivedposting_key_unique")]
        indexes = [models.Index(fields=["tenant", "kind", "month"], name="derivedposting_month_idx")]

    def __str__(self) -> str:
        return f"{self.kind} {self.key}"
