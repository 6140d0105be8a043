from django.apps import AppConfig


class CostsConfig(AppConfig):
    name = "costs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from finops.jobs.records import JobKind, job_kind_register

        from .importers import COSTS
        from .tasks import cost_import_run_task

        # A cost file imports once: the same file again is recognised and changes nothing.
        job_kind_register(JobKind(name=COSTS, task=cost_import_run_task, content_once=True))
