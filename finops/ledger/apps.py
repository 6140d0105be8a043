from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "finops.ledger"
    label = "ledger"

    def ready(self):
        from finops.jobs.records import JobKind, job_kind_register

        from .chart_import import CHART
        from .importers import GL
        from .tasks import chart_import_run, gl_import_run

        # A GL file imports once: the same file again is recognised and changes nothing.
        job_kind_register(JobKind(name=GL, task=gl_import_run, content_once=True))
        job_kind_register(JobKind(name=CHART, task=chart_import_run))
