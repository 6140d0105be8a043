"""The ledger's statement triggers plan their checks for each statement's own rows.

PL/pgSQL caches the plans of the queries in a function; after five executions PostgreSQL may
switch a cached plan to a *generic* one that ignores the parameter values. For the triggers'
set-wise checks (`entry_id = ANY(<the statement's entry ids>)` over the new lines' transition
table) a generic plan does not know the array's size and chose a sequential scan filtering every
line against the whole array: the sixth 500,000-line insert on one connection ran for over ten
minutes where the first five took about a minute each (seen in `make bench`). A Celery worker's
connection runs many imports, so it would hit this. Forcing custom plans costs a plan per
statement, which is nothing next to a bulk insert.
"""

from django.db import migrations

FUNCTIONS = ("ledger_check_entries()", "ledger_after_lines()")


class Migration(migrations.Migration):

    dependencies = [
        ("ledger", "0004_periodbalance_no_fk_constraints"),
    ]

    operations = [
        migrations.RunSQL(
            [f"ALTER FUNCTION {f} SET plan_cache_mode = force_custom_plan" for f in FUNCTIONS],
            [f"ALTER FUNCTION {f} RESET plan_cache_mode" for f in FUNCTIONS],
        ),
    ]
