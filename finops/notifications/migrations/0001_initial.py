"""The outbox, preferences and the inbox (finops/notifications/models.py): tenant tables keyed
(tenant_id, id) under row-level security; the site's outbox has no tenant."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from finops.tenancy.keys import TenantPrimaryKey
from finops.tenancy.rls import EnableRowLevelSecurity

TENANT_TABLES = ["delivery", "inboxitem", "preference"]


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('tenancy', '0003_rate_limit_hit'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='SiteDelivery',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(max_length=40)),
                ('ref', models.BigIntegerField(blank=True, null=True)),
                ('channel', models.CharField(choices=[('email', 'E-mail'), ('webhook', 'Webhook')], default='email', max_length=8)),
                ('recipient', models.CharField(max_length=2000)),
                ('payload', models.JSONField(blank=True, default=dict)),
                ('status', models.CharField(choices=[('pending', 'Pending'), ('sending', 'Sending'), ('sent', 'Sent'), ('failed', 'Failed')], default='pending', max_length=8)),
                ('due_at', models.DateTimeField()),
                ('attempts', models.PositiveSmallIntegerField(default=0)),
                ('message_id', models.CharField(blank=True, max_length=200)),
                ('sending_at', models.DateTimeField(blank=True, null=True)),
                ('sent_at', models.DateTimeField(blank=True, null=True)),
                ('last_error', models.TextField(blank=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
            ],
            options={
                'indexes': [models.Index(fields=['status', 'due_at'], name='sitedelivery_due_idx')],
            },
        ),
        migrations.CreateModel(
            name='Delivery',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(max_length=40)),
                ('ref', models.BigIntegerField(blank=True, null=True)),
                ('channel', models.CharField(choices=[('email', 'E-mail'), ('webhook', 'Webhook')], default='email', max_length=8)),
                ('recipient', models.CharField(max_length=2000)),
                ('payload', models.JSONField(blank=True, default=dict)),
                ('status', models.CharField(choices=[('pending', 'Pending'), ('sending', 'Sending'), ('sent', 'Sent'), ('failed', 'Failed')], default='pending', max_length=8)),
                ('due_at', models.DateTimeField()),
                ('attempts', models.PositiveSmallIntegerField(default=0)),
                ('message_id', models.CharField(blank=True, max_length=200)),
                ('sending_at', models.DateTimeField(blank=True, null=True)),
                ('sent_at', models.DateTimeField(blank=True, null=True)),
                ('last_error', models.TextField(blank=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('tenant', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='tenancy.organization')),
            ],
            options={
                'indexes': [models.Index(fields=['tenant', 'status', 'due_at'], name='delivery_due_idx')],
                'constraints': [models.UniqueConstraint(fields=('tenant', 'kind', 'ref', 'channel', 'recipient'), name='delivery_unique')],
            },
        ),
        migrations.CreateModel(
            name='InboxItem',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(max_length=40)),
                ('ref', models.BigIntegerField()),
                ('title', models.CharField(max_length=300)),
                ('link', models.CharField(blank=True, max_length=2000)),
                ('status', models.CharField(choices=[('open', 'Open'), ('acknowledged', 'Acknowledged'), ('snoozed', 'Snoozed')], default='open', max_length=12)),
                ('snoozed_until', models.DateTimeField(blank=True, null=True)),
                ('acknowledged_at', models.DateTimeField(blank=True, null=True)),
                ('note', models.TextField(blank=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('acknowledged_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('tenant', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='tenancy.organization')),
            ],
            options={
                'indexes': [models.Index(fields=['tenant', 'status', '-created_at'], name='inboxitem_status_idx')],
                'constraints': [models.UniqueConstraint(fields=('tenant', 'kind', 'ref'), name='inboxitem_unique')],
            },
        ),
        migrations.CreateModel(
            name='Preference',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('email', models.EmailField(max_length=254)),
                ('kind', models.CharField(max_length=40)),
                ('mode', models.CharField(choices=[('immediate', 'Immediately'), ('digest', 'Daily digest'), ('off', 'Off')], default='immediate', max_length=10)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('tenant', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='tenancy.organization')),
                ('user', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('tenant', 'email', 'kind'), name='preference_unique')],
            },
        ),
        *[TenantPrimaryKey(name) for name in TENANT_TABLES],
        *[EnableRowLevelSecurity(name) for name in TENANT_TABLES],
    ]
