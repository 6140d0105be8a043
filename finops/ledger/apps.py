from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "finops.ledger"
    label = "ledger"

    def ready(self):
        from .import_jobs import import_job_runner_register
        from .models import ImportKind
        from .tasks import gl_import_run

        import_job_runner_register(ImportKind.GL, gl_import_run)
