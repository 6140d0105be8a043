from django.apps import AppConfig


class TenancyConfig(AppConfig):
    name = "finops.tenancy"
    label = "tenancy"
