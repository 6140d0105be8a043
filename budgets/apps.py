from django.apps import AppConfig


class BudgetsConfig(AppConfig):
    name = "budgets"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from finops.ledger.signals import actuals_changed

        from .tasks import variance_alerts_on_actuals_changed

        # Variance alerts are evaluated after every change of actuals (debounced, see tasks.py).
        actuals_changed.connect(variance_alerts_on_actuals_changed, dispatch_uid="budgets.variance_alerts")
