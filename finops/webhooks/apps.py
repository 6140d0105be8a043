from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "finops.webhooks"
    label = "webhooks"
    verbose_name = "Webhooks"

    def ready(self):
        from .events import register_kinds

        register_kinds()
