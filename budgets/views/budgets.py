from django.urls import path

from finops.shell import coming_soon

urlpatterns: list = [path("", coming_soon, {"section": "budgets"}, name="index")]
