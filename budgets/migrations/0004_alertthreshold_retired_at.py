"""Alert thresholds removed from a rule that already has alerts are retired, not deleted (an
`Alert` cascades with its threshold): `retired_at` marks them, and evaluation skips them."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('budgets', '0003_alerts'),
    ]

    operations = [
        migrations.AddField(
            model_name='alertthreshold',
            name='retired_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
