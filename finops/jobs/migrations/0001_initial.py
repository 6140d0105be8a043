"""The job row moves from the ledger to the kernel: ledger_importjob becomes jobs_job, its rows,
keys, row-level security and grants with it (a rename: nothing is copied)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("ledger", "0010_bounds"),
        ("tenancy", "0003_rate_limit_hit"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL("ALTER TABLE ledger_importjob RENAME TO jobs_job",
                                  "ALTER TABLE jobs_job RENAME TO ledger_importjob"),
            ],
            state_operations=[
                migrations.CreateModel(
                    name="Job",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False,
                                                   verbose_name="ID")),
                        ("kind", models.CharField(choices=[("gl", "GL actuals"), ("budget", "Budget cells")],
                                                  default="gl", max_length=8)),
                        ("params", models.JSONField(blank=True, default=dict)),
                        ("filename", models.CharField(max_length=255)),
                        ("content", models.BinaryField()),
                        ("size", models.BigIntegerField(default=0)),
                        ("sha256", models.CharField(max_length=64)),
                        ("status", models.CharField(choices=[("queued", "Queued"), ("running", "Running"),
                                                             ("succeeded", "Succeeded"), ("failed", "Failed"),
                                                             ("duplicate", "Already imported")],
                                                    default="queued", max_length=10)),
                        ("rows", models.PositiveIntegerField(default=0)),
                        ("entries_created", models.PositiveIntegerField(default=0)),
                        ("entries_skipped", models.PositiveIntegerField(default=0)),
                        ("errors", models.JSONField(blank=True, default=list)),
                        ("error_count", models.PositiveIntegerField(default=0)),
                        ("message", models.CharField(blank=True, max_length=500)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("started_at", models.DateTimeField(blank=True, null=True)),
                        ("finished_at", models.DateTimeField(blank=True, null=True)),
                        ("heartbeat_at", models.DateTimeField(blank=True, null=True)),
                        ("attempts", models.PositiveSmallIntegerField(default=0)),
                        ("created_by", models.ForeignKey(blank=True, null=True,
                                                         on_delete=django.db.models.deletion.SET_NULL,
                                                         related_name="+", to=settings.AUTH_USER_MODEL)),
                        ("duplicate_of", models.ForeignKey(blank=True, db_constraint=False, null=True,
                                                           on_delete=django.db.models.deletion.SET_NULL,
                                                           related_name="+", to="jobs.job")),
                        ("tenant", models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT,
                                                     related_name="+", to="tenancy.organization")),
                    ],
                    options={
                        "ordering": ["-created_at", "-id"],
                        "indexes": [models.Index(fields=["tenant", "-created_at", "-id"],
                                                 name="importjob_created_idx")],
                        "constraints": [models.UniqueConstraint(
                            condition=models.Q(("kind", "gl"), ("status", "succeeded")),
                            fields=("tenant", "kind", "sha256"), name="importjob_succeeded_sha256_unique")],
                    },
                ),
            ],
        ),
    ]
