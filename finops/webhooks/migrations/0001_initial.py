"""Webhook endpoints: a tenant table keyed (tenant_id, id) under row-level security."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from finops.tenancy.keys import TenantPrimaryKey
from finops.tenancy.rls import EnableRowLevelSecurity


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('tenancy', '0003_rate_limit_hit'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='WebhookEndpoint',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('url', models.URLField(max_length=2000)),
                ('description', models.CharField(blank=True, max_length=200)),
                ('secret', models.CharField(max_length=80)),
                ('event_types', models.JSONField(blank=True, default=list)),
                ('active', models.BooleanField(default=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('tenant', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='tenancy.organization')),
            ],
            options={
                'ordering': ['-created_at', '-id'],
                'indexes': [models.Index(fields=['tenant', 'active'], name='webhookendpoint_active_idx')],
            },
        ),
        TenantPrimaryKey("webhookendpoint"),
        EnableRowLevelSecurity("webhookendpoint"),
    ]
