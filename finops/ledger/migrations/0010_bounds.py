"""Bounds (finops/bounds.py): a rollup cell wide enough for any realistic number of lines, and a
coarse wall on the dates the ledger stores.

- `ledger_periodbalance.amount` numeric(20, 4) → numeric(28, 4). A cell summed lines of up to
  10^16 each into 16 digits: eleven of the largest lines overflowed it and every later posting
  to the cell failed. Widening the precision at the same scale changes no stored value, so
  PostgreSQL neither rewrites the table nor rebuilds its indexes.
- Periods and FX rates lie inside 1900-01-01 … 2999-12-31 (entries lie inside their period, so
  they too). The window the application applies to what enters is narrower (and configurable);
  this wall is what a path that forgets it still cannot pass, broad enough that month
  arithmetic on any stored date stays in the calendar. Rows written before this migration are
  immutable history: the constraints are added NOT VALID and validated when every row
  complies; otherwise they hold for new rows and the migration says so.
"""

from django.db import migrations, models

WALL = ("1900-01-01", "2999-12-31")  # finops.bounds.DATE_WALL

CONSTRAINTS = {
    "ledger_period": ("period_inside_date_wall", f"start >= DATE '{WALL[0]}' AND \"end\" <= DATE '{WALL[1]}'"),
    "ledger_fxrate": ("fxrate_inside_date_wall", f"date >= DATE '{WALL[0]}' AND date <= DATE '{WALL[1]}'"),
}

FORWARD = [
    sql
    for table, (name, check) in CONSTRAINTS.items()
    for sql in (
        f"ALTER TABLE {table} ADD CONSTRAINT {name} CHECK ({check}) NOT VALID",
        f"""DO $$ BEGIN
                ALTER TABLE {table} VALIDATE CONSTRAINT {name};
            EXCEPTION WHEN check_violation THEN
                RAISE WARNING '{table} has rows outside {WALL[0]} to {WALL[1]}: {name} holds for new rows only';
            END $$""",
    )
]
BACKWARD = [f"ALTER TABLE {table} DROP CONSTRAINT {name}" for table, (name, _) in CONSTRAINTS.items()]


class Migration(migrations.Migration):

    dependencies = [
        ("ledger", "0009_importjob_budget_kind"),
    ]

    operations = [
        migrations.AlterField(
            model_name="periodbalance",
            name="amount",
            field=models.DecimalField(decimal_places=4, max_digits=28),
        ),
        migrations.RunSQL(FORWARD, BACKWARD),
    ]
