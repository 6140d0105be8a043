"""Counted requests of rate-limited actions (password-reset mails), see `finops/ratelimit.py`."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("tenancy", "0002_directory_rls"),
    ]

    operations = [
        migrations.CreateModel(
            name="RateLimitHit",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("scope", models.CharField(max_length=40)),
                ("key", models.CharField(max_length=128)),
                ("at", models.DateTimeField()),
            ],
            options={
                "indexes": [
                    models.Index(fields=["scope", "key", "at"], name="ratelimithit_key_idx"),
                    models.Index(fields=["at"], name="ratelimithit_at_idx"),
                ],
            },
        ),
    ]
