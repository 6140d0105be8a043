"""API tokens and idempotent responses: tenant tables keyed (tenant_id, id) under row-level
security; a token's row is also visible by its hash (`app.api_token`), which is how a request's
token is found before its organisation is known (finops/api/tokens.py)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from finops.tenancy.keys import TenantForeignKey, TenantPrimaryKey
from finops.tenancy.rls import TENANT_PREDICATE, EnableRowLevelSecurity, enable_sql

TOKEN_VISIBLE = f"{TENANT_PREDICATE} OR token_hash = NULLIF(current_setting('app.api_token', true), '')"


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('tenancy', '0003_rate_limit_hit'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='ApiToken',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=100)),
                ('prefix', models.CharField(max_length=12)),
                ('token_hash', models.CharField(max_length=64)),
                ('scopes', models.JSONField(default=list)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('expires_at', models.DateTimeField(blank=True, null=True)),
                ('last_used_at', models.DateTimeField(blank=True, null=True)),
                ('revoked_at', models.DateTimeField(blank=True, null=True)),
                ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('tenant', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='tenancy.organization')),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['-created_at', '-id'],
            },
        ),
        migrations.CreateModel(
            name='IdempotentResponse',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('key', models.CharField(max_length=255)),
                ('request_hash', models.CharField(max_length=64)),
                ('status', models.PositiveSmallIntegerField()),
                ('body', models.BinaryField()),
                ('content_type', models.CharField(max_length=100)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('tenant', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='tenancy.organization')),
                ('token', models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='api.apitoken')),
            ],
        ),
        migrations.AddConstraint(
            model_name='apitoken',
            constraint=models.UniqueConstraint(fields=('tenant', 'token_hash'), name='apitoken_hash_unique'),
        ),
        migrations.AddConstraint(
            model_name='apitoken',
            constraint=models.UniqueConstraint(fields=('tenant', 'name'), name='apitoken_name_unique'),
        ),
        migrations.AddIndex(
            model_name='idempotentresponse',
            index=models.Index(fields=['tenant', 'created_at'], name='idempotentresponse_age_idx'),
        ),
        migrations.AddConstraint(
            model_name='idempotentresponse',
            constraint=models.UniqueConstraint(fields=('tenant', 'token', 'key'), name='idempotentresponse_key_unique'),
        ),
        TenantPrimaryKey("apitoken"),
        TenantPrimaryKey("idempotentresponse"),
        TenantForeignKey("idempotentresponse", "token", deferred=False),
        migrations.RunSQL(enable_sql("api_apitoken", using=TOKEN_VISIBLE),
                          "DROP POLICY IF EXISTS tenant_isolation ON api_apitoken;"
                          " ALTER TABLE api_apitoken NO FORCE ROW LEVEL SECURITY;"
                          " ALTER TABLE api_apitoken DISABLE ROW LEVEL SECURITY;"),
        EnableRowLevelSecurity("idempotentresponse"),
    ]
