from django.apps import AppConfig


class BudgetsConfig(AppConfig):
    name = "budgets"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from finops.jobs.records import JobKind, job_kind_register
        from finops.ledger.signals import actuals_changed
        from finops.notifications.kinds import Kind, kind_register

        from .alerts.email import KIND, variance_alert_email
        from .tasks import budget_upload_run_task, variance_alerts_on_actuals_changed
        from .uploads import BUDGET

        # A variance alert's e-mail: recipients choose immediately / digest / off; one e-mail
        # carries a recipient's alerts due together.
        kind_register(Kind(name=KIND, label="Variance alerts", build=variance_alert_email, chosen=True, grouped=True))

        # The task that runs a budget upload (and that beat hands a lost one to again).
        job_kind_register(JobKind(name=BUDGET, task=budget_upload_run_task))

        # Variance alerts are evaluated after every change of actuals (debounced, see tasks.py).
        actuals_changed.connect(variance_alerts_on_actuals_changed, dispatch_uid="budgets.variance_alerts")
