"""Each try at sending a delivery, kept (a tenant table keyed (tenant_id, id) under row-level
security; the runtime role may only insert and read it)."""

import django.db.models.deletion
from django.db import migrations, models

from finops.tenancy.keys import TenantPrimaryKey
from finops.tenancy.rls import EnableRowLevelSecurity


class Migration(migrations.Migration):

    dependencies = [
        ('notifications', '0002_delivery_seq'),
        ('tenancy', '0003_rate_limit_hit'),
    ]

    operations = [
        migrations.CreateModel(
            name='DeliveryAttempt',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('delivery_id', models.BigIntegerField()),
                ('number', models.PositiveSmallIntegerField()),
                ('at', models.DateTimeField()),
                ('duration_ms', models.PositiveIntegerField()),
                ('ok', models.BooleanField()),
                ('answer', models.CharField(blank=True, max_length=1000)),
                ('tenant', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='tenancy.organization')),
            ],
            options={
                'ordering': ['delivery_id', 'number', 'id'],
                'indexes': [models.Index(fields=['tenant', 'delivery_id', 'number'], name='deliveryattempt_delivery_idx')],
            },
        ),
        TenantPrimaryKey("deliveryattempt"),
        EnableRowLevelSecurity("deliveryattempt"),
    ]
