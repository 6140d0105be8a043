"""`finops_analyze(regclass[])`: ANALYZE as the tables' owner, for the runtime role that is not
(see `finops/db.py`). SECURITY DEFINER with a fixed search_path; anything that is not a table
of the public schema (a temporary table, a catalog, another schema) is refused. The tables are
analysed in one fixed order (by oid), so two sessions never wait for each other's ANALYZE
in a cycle.

EXECUTE stays granted to PUBLIC (PostgreSQL's default): ANALYZE reads no data out and changes
none, it only refreshes the planner's statistics.
"""

from django.db import migrations

CREATE = r"""
CREATE FUNCTION finops_analyze(tables regclass[]) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    target regclass;
    schema_name name;
    table_name name;
BEGIN
    FOR target IN SELECT DISTINCT t FROM unnest(tables) AS t ORDER BY 1 LOOP
        SELECT n.nspname, c.relname INTO schema_name, table_name
          FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE c.oid = target AND c.relkind IN ('r', 'p', 'm');
        IF schema_name IS DISTINCT FROM 'public' THEN
            RAISE EXCEPTION 'finops_analyze: % is not a table of the public schema', target
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        EXECUTE format('ANALYZE %I.%I', schema_name, table_name);
    END LOOP;
END
$$;
"""


class Migration(migrations.Migration):

    dependencies = [
        ("ledger", "0007_job_heartbeat"),
    ]

    operations = [
        migrations.RunSQL(CREATE, "DROP FUNCTION finops_analyze(regclass[])"),
    ]
