"""The unsubscribe link of variance-alert e-mails. It sits at the site root, outside /o/<slug>/:
the signed token (tenant + address) is the credential, so it works without signing in. GET
shows the choice (mail scanners follow links; nothing changes on GET); POST records it, and a
one-click POST from the mail client (RFC 8058, no form fields) means "off". A link older than
ALERT_UNSUBSCRIBE_MAX_AGE_DAYS has expired: the page says to sign in and change the preferences."""

from __future__ import annotations

from django.conf import settings
from django.shortcuts import render
from django.urls import path, reverse
from django.views.decorators.csrf import csrf_exempt

from finops.tenancy.models import Organization

from ..alerts import UnsubscribeLinkExpired, alert_preference_set, unsubscribe_token_read
from ..models import AlertPreference


@csrf_exempt  # the signed token authenticates the request; mail clients POST without a CSRF token
def alerts_unsubscribe(request, token: str):
    try:
        read = unsubscribe_token_read(token)
    except UnsubscribeLinkExpired as expired:
        org = Organization.objects.filter(pk=expired.tenant_id).first()
        preferences = reverse("budgets:alert_preferences", kwargs={"org_slug": org.slug}) if org else ""
        return render(request, "budgets/alerts_unsubscribe.html", {
            "expired": True, "max_age_days": settings.ALERT_UNSUBSCRIBE_MAX_AGE_DAYS,
            "sign_in_url": f"{reverse('login')}?next={preferences}" if org else reverse("login")}, status=410)
    org = Organization.objects.filter(pk=read[0]).first() if read else None
    if org is None:
        return render(request, "budgets/alerts_unsubscribe.html", {"invalid": True}, status=400)
    tenant_id, email = read
    context = {"org": org, "email": email, "modes": AlertPreference.Mode.choices, "saved": None}
    if request.method == "POST":
        mode = request.POST.get("mode", AlertPreference.Mode.OFF)
        if mode not in AlertPreference.Mode.values:
            context["error"] = "Choose immediately, daily digest or off."
            return render(request, "budgets/alerts_unsubscribe.html", context, status=400)
        context["saved"] = alert_preference_set(tenant=org, email=email, mode=mode).get_mode_display()
    return render(request, "budgets/alerts_unsubscribe.html", context)


urlpatterns = [path("alerts/unsubscribe/<str:token>/", alerts_unsubscribe, name="alerts_unsubscribe")]
