"""Tenant-leading keys, as migration operations (DESIGN §4, §6: ready to distribute by tenant).

Past one PostgreSQL the path is Citus, distributing every tenant table on `tenant_id`. Citus
requires the distribution column in every primary key and unique constraint, and foreign keys
between distributed tables to include it. So every tenant table's database keys lead with
`tenant_id`, while Django keeps `id` as the model's primary key (ids come from one identity
sequence per table and stay unique; the database's constraint is the composite one):

- `TenantPrimaryKey("model")`: PRIMARY KEY (tenant_id, id) instead of (id).
- `TenantForeignKey("model", "field")`: FOREIGN KEY (tenant_id, <field>_id) REFERENCES
  <target> (tenant_id, id). The model's field says `db_constraint=False`, so Django adds no
  single-column constraint of its own. A composite key is also the tenancy wall for references:
  row-level security does not apply to foreign-key checks, this does.

Tables outside tenancy (users, organisations, memberships, invitations) would be Citus
reference tables, replicated to every node; keys to them need no tenant column.
`tests/platform/test_tenant_keys.py` fails for any tenant table that breaks the rule.
"""

from __future__ import annotations

from django.db import migrations


def _table(state, app_label: str, model_name: str) -> str:
    return state.apps.get_model(app_label, model_name)._meta.db_table


class TenantPrimaryKey(migrations.operations.base.Operation):
    reversible = True

    def __init__(self, model_name: str):
        self.model_name = model_name

    def state_forwards(self, app_label, state):
        pass

    def _swap(self, schema_editor, table: str, columns: str) -> None:
        quoted = schema_editor.quote_name(table)
        schema_editor.execute(f"""
            DO $$ DECLARE pk text; BEGIN
                SELECT conname INTO pk FROM pg_constraint WHERE conrelid = '{quoted}'::regclass AND contype = 'p';
                IF pk IS NOT NULL THEN EXECUTE format('ALTER TABLE {quoted} DROP CONSTRAINT %I', pk); END IF;
            END $$;
            ALTER TABLE {quoted} ADD CONSTRAINT {schema_editor.quote_name(table + "_pkey")} PRIMARY KEY ({columns});
        """, params=None)  # no parameters: format()'s %I stays as it is

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        self._swap(schema_editor, _table(to_state, app_label, self.model_name), "tenant_id, id")

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        self._swap(schema_editor, _table(from_state, app_label, self.model_name), "id")

    def describe(self):
        return f"Primary key (tenant_id, id) on {self.model_name}"

    def deconstruct(self):
        return (self.__class__.__qualname__, [self.model_name], {})


class TenantForeignKey(migrations.operations.base.Operation):
    """A composite foreign key for `model.field`. `deferred` keeps Django's own semantics (NO ACTION,
    checked at commit); otherwise the reference is RESTRICTed at once."""

    reversible = True

    def __init__(self, model_name: str, field_name: str, deferred: bool = True):
        self.model_name, self.field_name, self.deferred = model_name, field_name, deferred

    def state_forwards(self, app_label, state):
        pass

    def _parts(self, state, app_label) -> tuple[str, str, str, str]:
        model = state.apps.get_model(app_label, self.model_name)
        field = model._meta.get_field(self.field_name)
        name = f"{model._meta.model_name}_{self.field_name}_fk"
        return model._meta.db_table, name, field.column, field.related_model._meta.db_table

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        table, name, column, target = self._parts(to_state, app_label)
        timing = "ON DELETE NO ACTION DEFERRABLE INITIALLY DEFERRED" if self.deferred else \
            "ON DELETE RESTRICT DEFERRABLE INITIALLY IMMEDIATE"
        q = schema_editor.quote_name
        schema_editor.execute(f"ALTER TABLE {q(table)} ADD CONSTRAINT {q(name)} FOREIGN KEY (tenant_id, {q(column)}) "
                              f"REFERENCES {q(target)} (tenant_id, id) {timing}")

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        table, name, _, _ = self._parts(from_state, app_label)
        q = schema_editor.quote_name
        schema_editor.execute(f"ALTER TABLE {q(table)} DROP CONSTRAINT {q(name)}")

    def describe(self):
        return f"Foreign key (tenant_id, {self.field_name}) on {self.model_name}"

    def deconstruct(self):
        kwargs = {} if self.deferred else {"deferred": False}
        return (self.__class__.__qualname__, [self.model_name, self.field_name], kwargs)

