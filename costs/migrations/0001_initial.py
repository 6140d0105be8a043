"""Cost items (costs/models.py): row-level security like every tenant table, tenant-leading keys
(primary key (tenant_id, id), the import job by (tenant_id, import_job_id)); the runtime role
may not UPDATE or DELETE them (`CostItem.runtime_refuses`, granted by finops/dbsetup.py)."""

import django.db.models.deletion
from django.db import migrations, models

from finops.tenancy.keys import TenantForeignKey, TenantPrimaryKey
from finops.tenancy.rls import EnableRowLevelSecurity


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('jobs', '0002_generic_job'),
        ('tenancy', '0003_rate_limit_hit'),
    ]

    operations = [
        migrations.CreateModel(
            name='CostItem',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('line', models.PositiveIntegerField()),
                ('source_format', models.CharField(choices=[('focus', 'FOCUS export'), ('csv', 'Generic CSV / XLSX')], max_length=5)),
                ('row_hash', models.UUIDField()),
                ('occurrence', models.PositiveIntegerField(default=1)),
                ('charge_period_start', models.DateField()),
                ('charge_period_end', models.DateField(blank=True, null=True)),
                ('billing_period_start', models.DateField(blank=True, null=True)),
                ('billing_period_end', models.DateField(blank=True, null=True)),
                ('month', models.DateField()),
                ('charge_category', models.CharField(choices=[('Usage', 'Usage'), ('Purchase', 'Purchase'), ('Tax', 'Tax'), ('Credit', 'Credit'), ('Adjustment', 'Adjustment')], max_length=10)),
                ('charge_class', models.CharField(blank=True, choices=[('', '—'), ('Correction', 'Correction')], max_length=10)),
                ('charge_frequency', models.CharField(blank=True, max_length=40)),
                ('pricing_category', models.CharField(blank=True, max_length=40)),
                ('description', models.TextField(blank=True)),
                ('provider', models.CharField(blank=True, max_length=200)),
                ('publisher', models.CharField(blank=True, max_length=200)),
                ('invoice_issuer', models.CharField(blank=True, max_length=200)),
                ('vendor', models.CharField(blank=True, max_length=200)),
                ('billing_account_id', models.CharField(blank=True, max_length=200)),
                ('billing_account_name', models.CharField(blank=True, max_length=200)),
                ('sub_account_id', models.CharField(blank=True, max_length=200)),
                ('sub_account_name', models.CharField(blank=True, max_length=200)),
                ('service_name', models.CharField(blank=True, max_length=200)),
                ('service_category', models.CharField(blank=True, max_length=100)),
                ('service_subcategory', models.CharField(blank=True, max_length=100)),
                ('resource_id', models.TextField(blank=True)),
                ('resource_name', models.CharField(blank=True, max_length=400)),
                ('resource_type', models.CharField(blank=True, max_length=200)),
                ('region_id', models.CharField(blank=True, max_length=100)),
                ('region_name', models.CharField(blank=True, max_length=100)),
                ('availability_zone', models.CharField(blank=True, max_length=100)),
                ('sku_id', models.CharField(blank=True, max_length=200)),
                ('sku_price_id', models.CharField(blank=True, max_length=200)),
                ('cost_center_code', models.CharField(blank=True, max_length=100)),
                ('account_code', models.CharField(blank=True, max_length=100)),
                ('billing_currency', models.CharField(max_length=3)),
                ('billed_cost', models.DecimalField(decimal_places=12, max_digits=27)),
                ('effective_cost', models.DecimalField(decimal_places=12, max_digits=27)),
                ('list_cost', models.DecimalField(blank=True, decimal_places=12, max_digits=27, null=True)),
                ('contracted_cost', models.DecimalField(blank=True, decimal_places=12, max_digits=27, null=True)),
                ('consumed_quantity', models.DecimalField(blank=True, decimal_places=12, max_digits=27, null=True)),
                ('consumed_unit', models.CharField(blank=True, max_length=100)),
                ('pricing_quantity', models.DecimalField(blank=True, decimal_places=12, max_digits=27, null=True)),
                ('pricing_unit', models.CharField(blank=True, max_length=100)),
                ('commitment_discount_id', models.TextField(blank=True)),
                ('commitment_discount_name', models.CharField(blank=True, max_length=400)),
                ('commitment_discount_category', models.CharField(blank=True, max_length=20)),
                ('commitment_discount_status', models.CharField(blank=True, max_length=10)),
                ('commitment_discount_type', models.CharField(blank=True, max_length=100)),
                ('commitment_discount_quantity', models.DecimalField(blank=True, decimal_places=12, max_digits=27, null=True)),
                ('commitment_discount_unit', models.CharField(blank=True, max_length=100)),
                ('tags', models.JSONField(blank=True, default=dict)),
                ('x_columns', models.JSONField(blank=True, default=dict)),
                ('other_columns', models.JSONField(blank=True, default=dict)),
                ('import_job', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='jobs.job')),
                ('tenant', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='tenancy.organization')),
            ],
            options={
                'ordering': ['-charge_period_start', '-id'],
                'indexes': [models.Index(fields=['tenant', 'month', 'provider', 'service_name'], name='costitem_month_idx'), models.Index(fields=['tenant', 'service_name', 'month'], name='costitem_service_idx'), models.Index(fields=['tenant', 'cost_center_code', 'month'], name='costitem_cost_center_idx'), models.Index(fields=['tenant', 'account_code', 'month'], name='costitem_account_idx'), models.Index(fields=['tenant', 'import_job', 'line'], name='costitem_job_idx'), models.Index(fields=['tenant', '-charge_period_start', '-id'], name='costitem_list_idx')],
                'constraints': [models.UniqueConstraint(fields=('tenant', 'row_hash', 'occurrence'), name='costitem_row_unique'), models.CheckConstraint(condition=models.Q(('charge_category__in', ['Usage', 'Purchase', 'Tax', 'Credit', 'Adjustment'])), name='costitem_charge_category_valid'), models.CheckConstraint(condition=models.Q(('charge_class__in', ['', 'Correction'])), name='costitem_charge_class_valid'), models.CheckConstraint(condition=models.Q(('occurrence__gte', 1)), name='costitem_occurrence_positive')],
            },
        ),
        EnableRowLevelSecurity("costitem"),
        TenantPrimaryKey("costitem"),
        TenantForeignKey("costitem", "import_job", deferred=False),
    ]
