"""URLs under /o/<org_slug>/costs/."""

from django.urls import path

from . import views

app_name = "costs"
urlpatterns = [
    path("", views.cost_item_list, name="index"),
    path("imports/", views.import_list, name="import_list"),
    path("imports/<int:pk>/", views.import_detail, name="import_detail"),
    path("imports/<int:pk>/problems.csv", views.import_errors_export, name="import_errors"),
    path("mapping/", views.mapping, name="mapping"),
    path("mapping/new/", views.mapping_rule_edit, name="mapping_rule_new"),
    path("mapping/<int:pk>/", views.mapping_rule_edit, name="mapping_rule_edit"),
    path("mapping/<int:pk>/delete/", views.mapping_rule_remove, name="mapping_rule_delete"),
    path("ledger/", views.ledger, name="ledger"),
    path("ledger/post/", views.ledger_post, name="ledger_post"),
]
