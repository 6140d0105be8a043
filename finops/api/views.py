"""Settings → API tokens: admins create (the token is shown once, on the page that created it),
list and revoke the organisation's tokens. The rules are the services' (`finops.api.tokens`)."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_POST

from finops.errors import DomainError
from finops.tenancy.decorators import org_view
from finops.tenancy.permissions import Action

from .forms import TokenForm
from .tokens import access_token, expiry_after, token_create, token_list, token_revoke

TEMPLATE = "api/token_list.html"


@org_view(Action.ADMINISTER)
def tokens(request):
    form = TokenForm(request.POST or None, tenant=request.org, initial={"user": request.user.pk})
    issued = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        expires_at = expiry_after(data["expires"]) if data["expires"] else None
        try:
            issued = token_create(tenant=request.org, actor=request.user, name=data["name"], user=data["user"],
                                  scopes=data["scopes"], expires_at=expires_at)
        except DomainError as exc:
            form.add_error("name" if "name" in exc.message.lower() else None, exc.message)
        else:
            form = TokenForm(tenant=request.org, initial={"user": request.user.pk})
    context = {"form": form, "issued": issued, "tokens": token_list(tenant=request.org), "now": timezone.now()}
    return render(request, TEMPLATE, context, status=400 if form.errors else 200)


@org_view(Action.ADMINISTER)
@require_POST
def token_revoke_view(request, pk: int):
    token = access_token(tenant=request.org, pk=pk)
    try:
        token_revoke(tenant=request.org, actor=request.user, token=token)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Revoked {token}: it authenticates nothing from now on.")
    return redirect("api_tokens:tokens", org_slug=request.org.slug)


urlpatterns = [
    path("", tokens, name="tokens"),
    path("<int:pk>/revoke/", token_revoke_view, name="revoke"),
]
