from django.urls import path

from finops.shell import coming_soon

app_name = "budgets"
urlpatterns = [path("", coming_soon, {"section": "budgets"}, name="index")]
