"""The ledger's invariants, held by PostgreSQL (see finops/ledger/models.py)."""

from django.db import migrations

from finops.tenancy.rls import EnableRowLevelSecurity

FORWARD = r"""
-- Composite keys: a row can only point at rows of its own tenant. (Plain FK checks bypass
-- row-level security, so single-column keys would let a line name another tenant's account.)
ALTER TABLE ledger_journalentry
    ADD CONSTRAINT journalentry_entry_key UNIQUE (tenant_id, id, entity_id, period_id, date),
    ADD CONSTRAINT journalentry_entity_fk FOREIGN KEY (tenant_id, entity_id) REFERENCES ledger_entity (tenant_id, id),
    ADD CONSTRAINT journalentry_period_fk FOREIGN KEY (tenant_id, period_id) REFERENCES ledger_period (tenant_id, id),
    ADD CONSTRAINT journalentry_reverses_fk FOREIGN KEY (tenant_id, reverses_id) REFERENCES ledger_journalentry (tenant_id, id);

ALTER TABLE ledger_journalline
    ADD CONSTRAINT journalline_entry_fk FOREIGN KEY (tenant_id, entry_id, entity_id, period_id, date)
        REFERENCES ledger_journalentry (tenant_id, id, entity_id, period_id, date),
    ADD CONSTRAINT journalline_account_fk FOREIGN KEY (tenant_id, account_id) REFERENCES ledger_account (tenant_id, id),
    ADD CONSTRAINT journalline_costcenter_fk FOREIGN KEY (tenant_id, cost_center_id)
        REFERENCES ledger_costcenter (tenant_id, id);

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

-- Entries: only into open periods, dated inside their period.
CREATE FUNCTION ledger_check_entries() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE bad record;
BEGIN
    SELECT e.id, e.date, p.start, p.status INTO bad
    FROM new_entries e JOIN ledger_period p ON p.tenant_id = e.tenant_id AND p.id = e.period_id
    WHERE p.status <> 'open' OR e.date < p.start OR e.date > p."end"
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

-- Lines: every entry they touch balances with at least two lines; then roll them up.
CREATE FUNCTION ledger_after_lines() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE bad record;
BEGIN
    SELECT l.entry_id, sum(l.amount) AS total, count(*) AS n INTO bad
    FROM ledger_journalline l
    JOIN (SELECT DISTINCT tenant_id, entry_id FROM new_lines) t
      ON l.tenant_id = t.tenant_id AND l.entry_id = t.entry_id
    GROUP BY l.entry_id
    HAVING sum(l.amount) <> 0 OR count(*) < 2
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'journal entry % does not balance: % lines sum to %', bad.entry_id, bad.n, bad.total
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
ALTER TABLE ledger_journalline DROP CONSTRAINT journalline_entry_fk, DROP CONSTRAINT journalline_account_fk,
    DROP CONSTRAINT journalline_costcenter_fk;
ALTER TABLE ledger_journalentry DROP CONSTRAINT journalentry_reverses_fk, DROP CONSTRAINT journalentry_period_fk,
    DROP CONSTRAINT journalentry_entity_fk,
    DROP CONSTRAINT journalentry_entry_key;
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
