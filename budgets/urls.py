"""URLs under /o/<org_slug>/budgets/. Each views module owns its list of patterns; the budget
list (name `index`) is the section's landing page."""

from .views import alert_pages, alert_rules, budgets, consolidated, grid, transfers, variance

app_name = "budgets"
urlpatterns = [*budgets.urlpatterns, *grid.urlpatterns, *variance.urlpatterns, *consolidated.urlpatterns, *transfers.urlpatterns,
               *alert_pages.urlpatterns, *alert_rules.urlpatterns]
