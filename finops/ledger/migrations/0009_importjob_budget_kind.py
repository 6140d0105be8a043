# Budget uploads run as import jobs: a kind, the job's params, and GL-only duplicate detection.

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('ledger', '0008_analyze_function'),
        ('tenancy', '0001_initial'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='importjob',
            name='importjob_succeeded_sha256_unique',
        ),
        migrations.AddField(
            model_name='importjob',
            name='params',
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AlterField(
            model_name='importjob',
            name='kind',
            field=models.CharField(choices=[('gl', 'GL actuals'), ('budget', 'Budget cells')], default='gl', max_length=8),
        ),
        migrations.AddConstraint(
            model_name='importjob',
            constraint=models.UniqueConstraint(condition=models.Q(('kind', 'gl'), ('status', 'succeeded')), fields=('tenant', 'kind', 'sha256'), name='importjob_succeeded_sha256_unique'),
        ),
    ]
