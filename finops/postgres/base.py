"""Django's PostgreSQL backend, told that the database's primary keys are not Django's.

Every tenant table's primary key is (tenant_id, id) in the database while Django's is `id`
(finops/tenancy/keys.py). Django groups an aggregate by the primary key alone when it may
(`allows_group_by_selected_pks`), counting on PostgreSQL to see the other columns as functionally
dependent on it; on `id` alone they are not, and PostgreSQL refuses the query. So we group by
every selected column, which is always right.
"""

from django.db.backends.postgresql import base, features


class DatabaseFeatures(features.DatabaseFeatures):
    allows_group_by_selected_pks = False


class DatabaseWrapper(base.DatabaseWrapper):
    features_class = DatabaseFeatures
