"""The recipient's side of the outbox: "My e-mails" (a preference per message kind, for the
signed-in member) and the unsubscribe link of every e-mail that has one.

The unsubscribe page sits at the site root, outside /o/<slug>/: the signed token (organisation,
address, kind) is the credential, so it works without signing in. GET shows the choice (mail
scanners follow links; nothing changes on GET); POST records it, and a one-click POST from the
mail client (RFC 8058, no form fields) means "off". A link older than
NOTIFICATION_UNSUBSCRIBE_MAX_AGE_DAYS has expired: the page says to sign in and change the
preferences there."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.csrf import csrf_exempt

from finops.errors import DomainError
from finops.tenancy.decorators import org_view
from finops.tenancy.models import Organization
from finops.tenancy.permissions import Action

from .forms import CHOOSE, PreferencesForm
from .kinds import kind_get, kinds_chosen
from .models import Mode
from .preferences import UnsubscribeLinkExpired, preference_get, preference_set, unsubscribe_token_read


@org_view(Action.VIEW)
def preferences(request):
    email, kinds = request.user.email, kinds_chosen()
    initial = {k.name: preference_get(tenant=request.org, email=email, kind=k.name) for k in kinds}
    form = PreferencesForm(request.POST or None, kinds=kinds, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            saved = [preference_set(tenant=request.org, email=email, kind=k.name, mode=form.cleaned_data[k.name])
                     for k in kinds]
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            said = "; ".join(f"{k.label}: {p.get_mode_display().lower()}" for k, p in zip(kinds, saved, strict=True))
            messages.success(request, f"E-mails to {email}. {said}.")
            return redirect("notifications:preferences", org_slug=request.org.slug)
    return render(request, "notifications/preferences.html", {"form": form, "email": email})


@csrf_exempt  # the signed token authenticates the request; mail clients POST without a CSRF token
def unsubscribe(request, token: str):
    try:
        read = unsubscribe_token_read(token)
    except UnsubscribeLinkExpired as expired:
        org = Organization.objects.filter(pk=expired.tenant_id).first()
        page = reverse("notifications:preferences", kwargs={"org_slug": org.slug}) if org else ""
        return render(request, "notifications/unsubscribe.html", {
            "expired": True, "max_age_days": settings.NOTIFICATION_UNSUBSCRIBE_MAX_AGE_DAYS,
            "sign_in_url": f"{reverse('login')}?next={page}" if org else reverse("login")}, status=410)
    org = Organization.objects.filter(pk=read[0]).first() if read else None
    if org is None:
        return render(request, "notifications/unsubscribe.html", {"invalid": True}, status=400)
    _, email, kind = read
    context = {"org": org, "email": email, "kind": kind_get(kind), "modes": Mode.choices, "saved": None}
    if request.method == "POST":
        mode = request.POST.get("mode", Mode.OFF)
        if mode not in Mode.values:
            context["error"] = CHOOSE
            return render(request, "notifications/unsubscribe.html", context, status=400)
        context["saved"] = preference_set(tenant=org, email=email, kind=kind, mode=mode).get_mode_display()
    return render(request, "notifications/unsubscribe.html", context)


# At the site root: the link's token is the credential (the name is the one mailed links resolve to).
site_urlpatterns = [path("alerts/unsubscribe/<str:token>/", unsubscribe, name="alerts_unsubscribe")]

app_name = "notifications"
urlpatterns = [path("", preferences, name="preferences")]
