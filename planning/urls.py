from django.urls import path

from finops.shell import coming_soon

app_name = "planning"
urlpatterns = [path("", coming_soon, {"section": "planning"}, name="index")]
