from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "finops.api"
    label = "api"
    verbose_name = "API"
