"""Row-level security for tenant tables, as a migration operation.

Every table with a `tenant_id` gets ENABLE + FORCE row-level security (FORCE so the table's
owner, which is the application's role, is bound too) and one policy comparing `tenant_id` with
the transaction-local setting `app.tenant_id`. No setting, no rows; a row for another tenant can
be neither read nor written.
"""

from __future__ import annotations

from django.db import migrations

TENANT_PREDICATE = "tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::bigint"

# The directory (memberships, invitations) carries `organization_id`. A row is visible within its
# organisation's context, to the signed-in user for their own memberships, or by the token of the
# invitation being redeemed; it is written only within its organisation's context.
_DIRECTORY_TENANT = "organization_id = NULLIF(current_setting('app.tenant_id', true), '')::bigint"
DIRECTORY_POLICIES = {
    "tenancy_membership": (
        f"{_DIRECTORY_TENANT} OR user_id = NULLIF(current_setting('app.user_id', true), '')::bigint",
        _DIRECTORY_TENANT,
    ),
    "tenancy_invitation": (
        f"{_DIRECTORY_TENANT} OR token_hash = NULLIF(current_setting('app.invitation', true), '')",
        _DIRECTORY_TENANT,
    ),
}


def enable_sql(table: str, using: str = TENANT_PREDICATE, check: str = TENANT_PREDICATE) -> str:
    return f"""
        ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;
        ALTER TABLE {table} FORCE ROW LEVEL SECURITY;
        DROP POLICY IF EXISTS tenant_isolation ON {table};
        CREATE POLICY tenant_isolation ON {table} USING ({using}) WITH CHECK ({check});
    """


def disable_sql(table: str) -> str:
    return f"""
        DROP POLICY IF EXISTS tenant_isolation ON {table};
        ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY;
        ALTER TABLE {table} DISABLE ROW LEVEL SECURITY;
    """


class EnableRowLevelSecurity(migrations.operations.base.Operation):
    reversible = True

    def __init__(self, model_name: str):
        self.model_name = model_name

    def state_forwards(self, app_label, state):
        pass

    def _table(self, app_label, state) -> str:
        return state.apps.get_model(app_label, self.model_name)._meta.db_table

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        schema_editor.execute(enable_sql(schema_editor.quote_name(self._table(app_label, to_state))))

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        schema_editor.execute(disable_sql(schema_editor.quote_name(self._table(app_label, from_state))))

    def describe(self):
        return f"Enable row-level security on {self.model_name}"

    def deconstruct(self):
        return (self.__class__.__qualname__, [self.model_name], {})
