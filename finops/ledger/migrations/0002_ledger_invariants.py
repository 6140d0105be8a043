"""The ledger's invariants, held by PostgreSQL (see finops/ledger/models.py)."""

from django.db import migrations

from finops.tenancy.rls import EnableRowLevelSecurity

FORWARD = r"""
-- References are checked per statement, set-wise, in the triggers below rather than by
-- foreign keys: a per-row FK check costs ~45 % of a bulk insert (measured on 200k lines), and
-- a plain FK check bypasses row-level security anyway, so it could not tell tenants apart.
-- Inside the triggers the joins run under row-level security, so a line can only name rows of
-- its own tenant. Master data is never deleted (deactivate instead), so nothing can dangle.
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
DECLARE bad record;
BEGIN
    SELECT e.id INTO bad FROM new_entries e
    LEFT JOIN ledger_entity x ON x.tenant_id = e.tenant_id AND x.id = e.entity_id
    LEFT JOIN ledger_journalentry r ON r.tenant_id = e.tenant_id AND r.id = e.reverses_id
    WHERE x.id IS NULL OR (e.reverses_id IS NOT NULL AND r.id IS NULL)
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'journal entry % names an unknown entity or reversed entry', bad.id
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    SELECT e.id, e.date, p.start, p.status, p.id AS period_id INTO bad
    FROM new_entries e LEFT JOIN ledger_period p ON p.tenant_id = e.tenant_id AND p.id = e.period_id
    WHERE p.id IS NULL OR p.status <> 'open' OR e.date < p.start OR e.date > p."end"
    LIMIT 1;
    IF FOUND THEN
        IF bad.period_id IS NULL THEN
            RAISE EXCEPTION 'journal entry % names an unknown period', bad.id
                USING ERRCODE = 'foreign_key_violation';
        END IF;
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

-- Lines: agree with their entry (tenant, entity, period, date), name the tenant's own accounts
-- and cost centers, and every entry they touch balances with at least two lines; then roll up.
CREATE FUNCTION ledger_after_lines() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE bad record;
BEGIN
    SELECT n.entry_id, n.line_no INTO bad FROM new_lines n
    LEFT JOIN ledger_journalentry e ON e.tenant_id = n.tenant_id AND e.id = n.entry_id
    LEFT JOIN ledger_account a ON a.tenant_id = n.tenant_id AND a.id = n.account_id
    LEFT JOIN ledger_costcenter c ON c.tenant_id = n.tenant_id AND c.id = n.cost_center_id
    WHERE e.id IS NULL OR e.entity_id <> n.entity_id OR e.period_id <> n.period_id OR e.date <> n.date
       OR a.id IS NULL OR (n.cost_center_id IS NOT NULL AND c.id IS NULL)
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'journal line %/% does not match its entry or names an unknown account or cost center',
            bad.entry_id, bad.line_no USING ERRCODE = 'foreign_key_violation';
    END IF;

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
DROP TRIGGER period_no_delete ON ledger_period;
DROP TRIGGER costcenter_no_delete ON ledger_costcenter;
DROP TRIGGER account_no_delete ON ledger_account;
DROP TRIGGER entity_no_delete ON ledger_entity;
DROP FUNCTION ledger_refuse_delete();
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
