"""The ledger's invariants, held by PostgreSQL (see finops/ledger/models.py)."""

from django.db import migrations

from finops.tenancy.rls import EnableRowLevelSecurity

FORWARD = r"""
-- Referential checks. Inside these triggers every query runs under row-level security, so
-- a reference to another tenant's row finds nothing and fails.
--
-- A line names its entry through the composite key (tenant, entry, entity, period, date): the
-- line agrees with its entry. That, and the accounts, cost centers, entities, periods and reversed
-- entries, are checked per statement (once per distinct entry or id) instead of by per-row foreign
-- keys: a per-row FK check cost ~45 % of a bulk insert, and the entry key's alone ~1.1 s of a
-- 200k-line import, against ~0.15 s per statement. The checks avoid joins whose plan would depend
-- on statistics that a bulk load has just made stale (a probe per distinct entry, by LATERAL ...
-- LIMIT 1, has one plan). Entries and master data are never deleted (entries are immutable;
-- deactivate master data instead), so no reference can dangle.
ALTER TABLE ledger_journalentry
    ADD CONSTRAINT journalentry_entry_key UNIQUE (tenant_id, id, entity_id, period_id, date);

CREATE FUNCTION ledger_refuse_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% rows are never deleted: deactivate them instead', TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
END $$;
CREATE TRIGGER entity_no_delete BEFORE DELETE ON ledger_entity
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_delete();
CREATE TRIGGER account_no_delete BEFORE DELETE ON ledger_account
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_delete();
CREATE TRIGGER costcenter_no_delete BEFORE DELETE ON ledger_costcenter
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_delete();
CREATE TRIGGER period_no_delete BEFORE DELETE ON ledger_period
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_delete();

-- Posted entries and lines never change.
CREATE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'posted % rows are immutable: post a reversal instead', TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
END $$;

CREATE TRIGGER journalentry_immutable BEFORE UPDATE OR DELETE ON ledger_journalentry
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER journalline_immutable BEFORE UPDATE OR DELETE ON ledger_journalline
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER periodbalance_no_delete BEFORE DELETE ON ledger_periodbalance
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();

-- Entries: of a known entity of the tenant, only into open periods, dated inside their period.
CREATE FUNCTION ledger_check_entries() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ids bigint[];
    bad record;
BEGIN
    SELECT array_agg(DISTINCT entity_id) INTO ids FROM new_entries;
    IF (SELECT count(*) FROM ledger_entity WHERE id = ANY(ids)) <> cardinality(ids) THEN
        RAISE EXCEPTION 'a journal entry names an unknown entity' USING ERRCODE = 'foreign_key_violation';
    END IF;
    SELECT array_agg(DISTINCT reverses_id) INTO ids FROM new_entries WHERE reverses_id IS NOT NULL;
    IF ids IS NOT NULL AND (SELECT count(*) FROM ledger_journalentry WHERE id = ANY(ids)) <> cardinality(ids) THEN
        RAISE EXCEPTION 'a journal entry reverses an unknown entry' USING ERRCODE = 'foreign_key_violation';
    END IF;
    SELECT array_agg(DISTINCT period_id) INTO ids FROM new_entries;
    IF (SELECT count(*) FROM ledger_period WHERE id = ANY(ids)) <> cardinality(ids) THEN
        RAISE EXCEPTION 'a journal entry names an unknown period' USING ERRCODE = 'foreign_key_violation';
    END IF;
    WITH p AS MATERIALIZED (SELECT id, start, "end", status FROM ledger_period WHERE id = ANY(ids))
    SELECT e.date, p.start, p.status INTO bad
    FROM new_entries e JOIN p ON p.id = e.period_id
    WHERE p.status <> 'open' OR e.date < p.start OR e.date > p."end"
    ORDER BY p.status = 'open', p.start
    LIMIT 1;
    IF FOUND THEN
        IF bad.status <> 'open' THEN
            RAISE EXCEPTION 'period % is closed', to_char(bad.start, 'YYYY-MM')
                USING ERRCODE = 'check_violation';
        END IF;
        RAISE EXCEPTION 'entry date % lies outside period %', bad.date, to_char(bad.start, 'YYYY-MM')
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER journalentry_check AFTER INSERT ON ledger_journalentry
    REFERENCING NEW TABLE AS new_entries
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_check_entries();

-- Lines: name the tenant's own accounts and cost centers; every entry they touch balances, has
-- at least two lines, and has no lines from an earlier statement (an entry's lines are written
-- by one statement); then they are rolled up into the period balances.
CREATE FUNCTION ledger_after_lines() RETURNS trigger LANGUAGE plpgsql
SET work_mem = '64MB'  -- the rollup's hash aggregate of a bulk load stays in memory
AS $$
DECLARE
    ids bigint[];
    new_count bigint;
    bad record;
BEGIN
    SELECT array_agg(DISTINCT account_id) INTO ids FROM new_lines;
    IF (SELECT count(*) FROM ledger_account WHERE id = ANY(ids)) <> cardinality(ids) THEN
        RAISE EXCEPTION 'a journal line names an unknown account' USING ERRCODE = 'foreign_key_violation';
    END IF;
    SELECT array_agg(DISTINCT cost_center_id) INTO ids FROM new_lines WHERE cost_center_id IS NOT NULL;
    IF ids IS NOT NULL AND (SELECT count(*) FROM ledger_costcenter WHERE id = ANY(ids)) <> cardinality(ids) THEN
        RAISE EXCEPTION 'a journal line names an unknown cost center' USING ERRCODE = 'foreign_key_violation';
    END IF;
    -- journalline_entry_fk: every line's (tenant, entry, entity, period, date) is its entry's.
    SELECT l.entry_id INTO bad
    FROM (SELECT DISTINCT tenant_id, entry_id, entity_id, period_id, date FROM new_lines) l
    LEFT JOIN LATERAL (
        SELECT true AS found FROM ledger_journalentry e
        WHERE e.tenant_id = l.tenant_id AND e.id = l.entry_id AND e.entity_id = l.entity_id
          AND e.period_id = l.period_id AND e.date = l.date
        LIMIT 1
    ) e ON true
    WHERE e.found IS NULL
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'journalline_entry_fk: a line of journal entry % does not match the entry''s entity, '
                        'period and date, or the entry does not exist', bad.entry_id
            USING ERRCODE = 'foreign_key_violation';
    END IF;

    SELECT entry_id, total, n INTO bad FROM (
        SELECT entry_id, sum(amount) AS total, count(*) AS n FROM new_lines GROUP BY entry_id
    ) per_entry WHERE total <> 0 OR n < 2 ORDER BY entry_id LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'journal entry % does not balance: % lines sum to %', bad.entry_id, bad.n, bad.total
            USING ERRCODE = 'check_violation';
    END IF;
    SELECT array_agg(DISTINCT entry_id), count(*) INTO ids, new_count FROM new_lines;
    IF (SELECT count(*) FROM ledger_journalline WHERE entry_id = ANY(ids)) <> new_count THEN
        RAISE EXCEPTION 'lines cannot be added to a posted journal entry: it would no longer balance'
            USING ERRCODE = 'check_violation';
    END IF;

    INSERT INTO ledger_periodbalance AS b
        (tenant_id, entity_id, account_id, cost_center_id, period_id, amount, line_count)
    SELECT tenant_id, entity_id, account_id, cost_center_id, period_id, sum(amount), count(*)
    FROM new_lines
    GROUP BY tenant_id, entity_id, account_id, cost_center_id, period_id
    ORDER BY tenant_id, entity_id, account_id, cost_center_id, period_id
    ON CONFLICT (tenant_id, entity_id, account_id, cost_center_id, period_id)
    DO UPDATE SET amount = b.amount + EXCLUDED.amount, line_count = b.line_count + EXCLUDED.line_count;
    RETURN NULL;
END $$;

CREATE TRIGGER journalline_after_insert AFTER INSERT ON ledger_journalline
    REFERENCING NEW TABLE AS new_lines
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_after_lines();
"""

BACKWARD = r"""
DROP TRIGGER journalline_after_insert ON ledger_journalline;
DROP TRIGGER journalentry_check ON ledger_journalentry;
DROP TRIGGER periodbalance_no_delete ON ledger_periodbalance;
DROP TRIGGER journalline_immutable ON ledger_journalline;
DROP TRIGGER journalentry_immutable ON ledger_journalentry;
DROP FUNCTION ledger_after_lines();
DROP FUNCTION ledger_check_entries();
DROP FUNCTION ledger_refuse_change();
DROP TRIGGER period_no_delete ON ledger_period;
DROP TRIGGER costcenter_no_delete ON ledger_costcenter;
DROP TRIGGER account_no_delete ON ledger_account;
DROP TRIGGER entity_no_delete ON ledger_entity;
DROP FUNCTION ledger_refuse_delete();
ALTER TABLE ledger_journalentry DROP CONSTRAINT journalentry_entry_key;
"""


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial")]

    operations = [
        migrations.RunSQL(FORWARD, BACKWARD),
        *[
            EnableRowLevelSecurity(name)
            for name in ["entity", "account", "costcenter", "period", "fxrate", "journalentry", "journalline", "periodbalance"]
        ],
    ]
