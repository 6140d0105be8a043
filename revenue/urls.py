from django.urls import path

from finops.shell import coming_soon

app_name = "revenue"
urlpatterns = [path("", coming_soon, {"section": "revenue"}, name="index")]
