from django.urls import path

from finops.shell import coming_soon

app_name = "costs"
urlpatterns = [path("", coming_soon, {"section": "costs"}, name="index")]
