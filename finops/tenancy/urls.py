"""Site-level URLs (login, password reset, invitations, organisation picker) and the
organisation's own pages under /o/<org_slug>/ (members, audit log, settings)."""

from .views import accounts, org

urlpatterns = [*accounts.urlpatterns]
org_urlpatterns = [*org.urlpatterns]
