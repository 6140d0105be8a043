"""The rollup is written by the owner only, and a bulk insert's lines are checked in one pass.

- **The rollup.** `ledger_after_lines()` upserted the period balances as the role that inserted
  the lines, so the runtime role needed INSERT and UPDATE on `ledger_periodbalance`, and with
  them it could write any cell to any value. The upsert moves into its own statement trigger,
  `journalline_rollup`, whose function `ledger_rollup_lines()` is SECURITY DEFINER (it runs as
  the owner, who created it here), and the runtime role keeps only SELECT on the table
  (`PeriodBalance.runtime_refuses`). The only way left to change a cell is to insert journal
  lines, which the line checks see first: a cell is the sum of its lines. The function cannot
  be called or attached to another table by the runtime role: a trigger function cannot be
  called directly, CREATE TRIGGER needs EXECUTE on it (revoked from PUBLIC), and it refuses to run
  for any table but the journal lines. It reads the statement's transition table only (rows
  that passed row-level security's WITH CHECK as the inserting role, so of the current tenant).
  Cells are upserted in key order (two postings into the same cells lock them in one order) with
  memory enough for a bulk import's hash aggregate (330,000 cells spilled to disk at 64 MB).

- **One pass over an entry's lines.** The checks grouped the statement's lines twice (once for the
  entry key, once for the balance) and then counted every line of the tenant's journal whose
  entry was among the statement's (a scan of the tenant's whole journal: 1,000,000 lines for a
  1,000,000-line import into an empty tenant, growing with the journal). Now one aggregate per
  (entry, entity, period, date) gives the total, the count and the first and last line number,
  and a probe per entry matches it against its entry's row. An entry's lines must be numbered
  1 … n within their statement (every writer does so); with the unique key on (tenant, entry,
  line_no), two statements can then never both write lines of one entry (both would hold line 1),
  which is what the count of posted lines checked. Same rules, same messages.

- **Fewer index entries per journal entry.** `journalentry_entry_key` (tenant, id, entity,
  period, date) was unique because its leading (tenant, id) is the primary key: no constraint
  refers to it and the line check probes the primary key. It goes. `journalentry_reverses_unique`
  indexed every entry, though only reversals have a `reverses_id`: it becomes a unique index on
  reversals alone (same name, same rule: an entry is reversed at most once).
"""

from django.db import migrations

CHECK_LINES = r"""
CREATE OR REPLACE FUNCTION ledger_after_lines() RETURNS trigger LANGUAGE plpgsql
SET work_mem = '128MB'  -- the per-entry hash aggregate of a bulk load stays in memory
SET plan_cache_mode = force_custom_plan  -- migration 0005
AS $$
DECLARE
    first_entry bigint;
    last_entry bigint;
    lines bigint;
    bad record;
BEGIN
    IF EXISTS (SELECT FROM (SELECT DISTINCT account_id FROM new_lines) l
               WHERE NOT EXISTS (SELECT FROM ledger_account a WHERE a.id = l.account_id)) THEN
        RAISE EXCEPTION 'a journal line names an unknown account' USING ERRCODE = 'foreign_key_violation';
    END IF;
    IF EXISTS (SELECT FROM (SELECT DISTINCT cost_center_id FROM new_lines WHERE cost_center_id IS NOT NULL) l
               WHERE NOT EXISTS (SELECT FROM ledger_costcenter c WHERE c.id = l.cost_center_id)) THEN
        RAISE EXCEPTION 'a journal line names an unknown cost center' USING ERRCODE = 'foreign_key_violation';
    END IF;
    -- Per (entry, entity, period, date): if every group matches its entry's row, each entry has
    -- one group, so the group's total, count and numbering are the entry's. The first problem
    -- is reported: an unmatched entry, then an unbalanced one, then one numbered otherwise.
    -- A bulk load's entries have consecutive ids: their rows are read in one range of the primary
    -- key and hashed; otherwise each entry's row is probed.
    SELECT min(entry_id), max(entry_id), count(*) INTO first_entry, last_entry, lines FROM new_lines;
    IF last_entry - first_entry < lines THEN
        SELECT p.entry_id, p.total, p.n, e.id IS NULL AS unmatched, p.total <> 0 OR p.n < 2 AS unbalanced
        INTO bad
        FROM (
            SELECT tenant_id, entry_id, entity_id, period_id, date, sum(amount) AS total, count(*) AS n,
                   min(line_no) AS first_no, max(line_no) AS last_no
            FROM new_lines
            GROUP BY tenant_id, entry_id, entity_id, period_id, date
        ) p
        LEFT JOIN (
            SELECT tenant_id, id, entity_id, period_id, date FROM ledger_journalentry
            WHERE id BETWEEN first_entry AND last_entry
            OFFSET 0  -- hashed, not probed once per entry
        ) e ON e.tenant_id = p.tenant_id AND e.id = p.entry_id AND e.entity_id = p.entity_id
           AND e.period_id = p.period_id AND e.date = p.date
        WHERE e.id IS NULL OR p.total <> 0 OR p.n < 2 OR p.first_no <> 1 OR p.last_no <> p.n
        ORDER BY e.id IS NOT NULL, NOT (p.total <> 0 OR p.n < 2), p.entry_id
        LIMIT 1;
    ELSE
        SELECT p.entry_id, p.total, p.n, e.found IS NULL AS unmatched, p.total <> 0 OR p.n < 2 AS unbalanced
        INTO bad
        FROM (
            SELECT tenant_id, entry_id, entity_id, period_id, date, sum(amount) AS total, count(*) AS n,
                   min(line_no) AS first_no, max(line_no) AS last_no
            FROM new_lines
            GROUP BY tenant_id, entry_id, entity_id, period_id, date
        ) p
        LEFT JOIN LATERAL (
            SELECT true AS found FROM ledger_journalentry e
            WHERE e.tenant_id = p.tenant_id AND e.id = p.entry_id AND e.entity_id = p.entity_id
              AND e.period_id = p.period_id AND e.date = p.date
            LIMIT 1
        ) e ON true
        WHERE e.found IS NULL OR p.total <> 0 OR p.n < 2 OR p.first_no <> 1 OR p.last_no <> p.n
        ORDER BY e.found IS NOT NULL, NOT (p.total <> 0 OR p.n < 2), p.entry_id
        LIMIT 1;
    END IF;
    IF FOUND THEN
        IF bad.unmatched THEN
            RAISE EXCEPTION 'journalline_entry_fk: a line of journal entry % does not match the entry''s entity, '
                            'period and date, or the entry does not exist', bad.entry_id
                USING ERRCODE = 'foreign_key_violation';
        END IF;
        IF bad.unbalanced THEN
            RAISE EXCEPTION 'journal entry % does not balance: % lines sum to %', bad.entry_id, bad.n, bad.total
                USING ERRCODE = 'check_violation';
        END IF;
        -- Lines 1 … n of an entry, all in this statement; any line posted before would collide
        -- with one of them on journalline_entry_line_unique.
        RAISE EXCEPTION 'lines cannot be added to a posted journal entry: it would no longer balance '
                        '(journal entry %: its lines must be numbered 1 to % in one statement)', bad.entry_id, bad.n
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;
"""

ROLLUP = r"""
CREATE FUNCTION ledger_rollup_lines() RETURNS trigger LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, public
SET work_mem = '128MB'  -- a bulk load's hash aggregate (330,000 cells) stays in memory
SET plan_cache_mode = force_custom_plan  -- migration 0005
AS $$
BEGIN
    IF TG_RELID <> 'public.ledger_journalline'::regclass OR TG_OP <> 'INSERT' OR TG_LEVEL <> 'STATEMENT'
       OR TG_WHEN <> 'AFTER' THEN
        RAISE EXCEPTION 'ledger_rollup_lines() rolls up the journal lines inserted, nothing else'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    INSERT INTO public.ledger_periodbalance AS b
        (tenant_id, entity_id, account_id, cost_center_id, period_id, amount, line_count)
    SELECT tenant_id, entity_id, account_id, cost_center_id, period_id, sum(amount), count(*)
    FROM new_lines
    GROUP BY tenant_id, entity_id, account_id, cost_center_id, period_id
    ORDER BY tenant_id, entity_id, account_id, cost_center_id, period_id
    ON CONFLICT (tenant_id, entity_id, account_id, cost_center_id, period_id)
    DO UPDATE SET amount = b.amount + EXCLUDED.amount, line_count = b.line_count + EXCLUDED.line_count;
    RETURN NULL;
END $$;
REVOKE ALL ON FUNCTION ledger_rollup_lines() FROM PUBLIC;

CREATE TRIGGER journalline_rollup AFTER INSERT ON ledger_journalline
    REFERENCING NEW TABLE AS new_lines
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_rollup_lines();
"""

ENTRY_INDEXES = r"""
ALTER TABLE ledger_journalentry DROP CONSTRAINT journalentry_entry_key;
ALTER TABLE ledger_journalentry DROP CONSTRAINT journalentry_reverses_unique;
CREATE UNIQUE INDEX journalentry_reverses_unique ON ledger_journalentry (tenant_id, reverses_id)
    WHERE reverses_id IS NOT NULL;
"""

# Back to migration 0002's single trigger (its function as 0005 and 0010 left it).
BACKWARD = r"""
DROP INDEX journalentry_reverses_unique;
ALTER TABLE ledger_journalentry ADD CONSTRAINT journalentry_reverses_unique UNIQUE (tenant_id, reverses_id);
ALTER TABLE ledger_journalentry
    ADD CONSTRAINT journalentry_entry_key UNIQUE (tenant_id, id, entity_id, period_id, date);
DROP TRIGGER journalline_rollup ON ledger_journalline;
DROP FUNCTION ledger_rollup_lines();
"""


def _previous_check_lines():
    """ledger_after_lines() as migration 0002 wrote it (0005 set its plan cache mode)."""
    import importlib

    invariants = importlib.import_module("finops.ledger.migrations.0002_ledger_invariants")
    body = invariants.FORWARD
    start = body.index("CREATE FUNCTION ledger_after_lines()")
    end = body.index("CREATE TRIGGER journalline_after_insert")
    return ("CREATE OR REPLACE" + body[start + len("CREATE"):end]
            + "ALTER FUNCTION ledger_after_lines() SET plan_cache_mode = force_custom_plan;")


class Migration(migrations.Migration):

    dependencies = [
        ("ledger", "0013_alter_journalentry_source"),
    ]

    operations = [
        migrations.RunSQL(ENTRY_INDEXES + CHECK_LINES + ROLLUP, BACKWARD + _previous_check_lines()),
    ]
