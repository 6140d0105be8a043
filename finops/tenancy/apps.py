from django.apps import AppConfig


class TenancyConfig(AppConfig):
    name = "finops.tenancy"
    label = "tenancy"

    def ready(self):
        from finops.notifications.kinds import kind_register

        from .messages import KINDS

        for kind in KINDS:
            kind_register(kind)
