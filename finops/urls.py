from django.urls import include, path

from finops.api.v1 import api as api_v1
from finops.api.views import urlpatterns as api_token_urlpatterns
from finops.notifications.views import site_urlpatterns as notification_site_urlpatterns
from finops.tenancy.urls import org_urlpatterns
from finops.webhooks.views import urlpatterns as webhook_urlpatterns

urlpatterns = [
    path("api/v1/", api_v1.urls),
    path("", include("finops.tenancy.urls")),
    path("", include(notification_site_urlpatterns)),  # unsubscribe links: a signed token, no org
    path("o/<slug:org_slug>/", include((org_urlpatterns, "org"))),
    path("o/<slug:org_slug>/settings/api-tokens/", include((api_token_urlpatterns, "api_tokens"))),
    path("o/<slug:org_slug>/settings/webhooks/", include((webhook_urlpatterns, "webhooks"))),
    path("o/<slug:org_slug>/ledger/", include("finops.ledger.urls")),
    path("o/<slug:org_slug>/notifications/", include("finops.notifications.views")),
    path("o/<slug:org_slug>/", include("reporting.urls")),
    path("o/<slug:org_slug>/budgets/", include("budgets.urls")),
    path("o/<slug:org_slug>/costs/", include("costs.urls")),
    path("o/<slug:org_slug>/revenue/", include("revenue.urls")),
    path("o/<slug:org_slug>/planning/", include("planning.urls")),
]

handler404 = "finops.tenancy.views.errors.not_found"
handler403 = "finops.tenancy.views.errors.forbidden"
handler500 = "finops.tenancy.views.errors.server_error"
