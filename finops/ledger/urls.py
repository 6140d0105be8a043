"""URLs under /o/<org_slug>/ledger/. Each views module owns its list of patterns."""

from .views import chart, imports, journal, live, masterdata

app_name = "ledger"
urlpatterns = [*journal.urlpatterns, *masterdata.urlpatterns, *imports.urlpatterns, *chart.urlpatterns, *live.urlpatterns]
