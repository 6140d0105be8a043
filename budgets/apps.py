from django.apps import AppConfig


class BudgetsConfig(AppConfig):
    name = "budgets"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from finops.ledger.import_jobs import import_job_runner_register
        from finops.ledger.models import ImportKind
        from finops.ledger.signals import actuals_changed

        from .tasks import budget_upload_run_task, variance_alerts_on_actuals_changed

        # A budget upload lost by the broker is requeued by the ledger's beat to this task.
        import_job_runner_register(ImportKind.BUDGET, budget_upload_run_task)

        # Variance alerts are evaluated after every change of actuals (debounced, see tasks.py).
        actuals_changed.connect(variance_alerts_on_actuals_changed, dispatch_uid="budgets.variance_alerts")
