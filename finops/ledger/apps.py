from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "finops.ledger"
    label = "ledger"

    def ready(self):
        from finops.jobs.records import JobKind, job_kind_register

        from .importers import GL
        from .tasks import gl_import_run

        # A GL file imports once: the same file again is recognised and changes nothing.
        job_kind_register(JobKind(name=GL, task=gl_import_run, content_once=True))
