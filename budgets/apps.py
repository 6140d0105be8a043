from django.apps import AppConfig


class BudgetsConfig(AppConfig):
    name = "budgets"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from finops.ledger.import_jobs import import_job_runner_register
        from finops.ledger.models import ImportKind
        from finops.ledger.signals import actuals_changed
        from finops.notifications.kinds import Kind, kind_register

        from .alerts import KIND, variance_alert_email
        from .tasks import budget_upload_run_task, variance_alerts_on_actuals_changed

        # A variance alert's e-mail: recipients choose immediately / digest / off; one e-mail
        # carries a recipient's alerts due together.
        kind_register(Kind(name=KIND, label="Variance alerts", build=variance_alert_email, chosen=True, grouped=True))

        # A budget upload lost by the broker is requeued by the ledger's beat to this task.
        import_job_runner_register(ImportKind.BUDGET, budget_upload_run_task)

        # Variance alerts are evaluated after every change of actuals (debounced, see tasks.py).
        actuals_changed.connect(variance_alerts_on_actuals_changed, dispatch_uid="budgets.variance_alerts")
