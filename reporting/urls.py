from django.urls import path

from . import views

app_name = "reporting"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("budget-glance/", views.budget_glance, name="budget_glance"),
    path("reports/", views.reports, name="reports"),
]
