"""Site-level pages: sign in and out, password reset, the start page and invitations.

Sign-in goes through Django's LoginView, whose form calls `authenticate(request, ...)`, so
django-axes (the first authentication backend) sees the request and throttles per e-mail and
IP address; its lockout page is `registration/locked_out.html` (429).
"""

from __future__ import annotations

import logging

from axes.helpers import get_client_ip_address
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth import views as auth_views
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import path, reverse_lazy
from django.views.decorators.http import require_http_methods

from finops.errors import DomainError
from finops.tenancy import services
from finops.tenancy.forms import (
    EmailAuthenticationForm,
    EmailPasswordResetForm,
    NewAccountForm,
    NewPasswordForm,
)
from finops.tenancy.selectors import memberships_of

log = logging.getLogger(__name__)


def home(request):
    """Where "/" leads: the sign-in page, the only organisation, or a choice."""
    if not request.user.is_authenticated:
        return redirect(settings.LOGIN_URL)
    memberships = list(memberships_of(user=request.user))
    if len(memberships) == 1:
        return redirect("reporting:dashboard", org_slug=memberships[0].organization.slug)
    return render(request, "tenancy/organization_picker.html", {"memberships": memberships})


@require_http_methods(["GET", "POST"])
def invitation_accept(request, token: str):
    """Show whom the invitation is from and for; accept it as the signed-in user (POST), or
    create the account right here when nobody has that e-mail yet."""
    invitation = services.invitation_for_token(token)
    try:
        services.invitation_check(invitation)
    except DomainError as error:
        return render(request, "tenancy/invitation_accept.html", {"problem": error.message, "invitation": invitation},
                      status=410 if invitation else 404)
    user = request.user
    has_account = get_user_model().objects.filter(email__iexact=invitation.email).exists()
    form = None if user.is_authenticated or has_account else NewAccountForm(request.POST or None, email=invitation.email)
    if request.method == "POST":
        try:
            if user.is_authenticated:
                membership = services.invitation_accept(token=token, user=user)
            elif form is not None and form.is_valid():
                membership = services.invitation_accept_new_user(token=token, password=form.cleaned_data["password1"])
                login(request, membership.user, backend="finops.tenancy.backends.EmailBackend")
            else:
                membership = None
        except DomainError as error:
            messages.error(request, error.message)
            membership = None
        if membership is not None:
            messages.success(request, f"Welcome to {membership.organization.name}.")
            return redirect("reporting:dashboard", org_slug=membership.organization.slug)
    return render(request, "tenancy/invitation_accept.html", {
        "invitation": invitation, "form": form, "has_account": has_account,
        "email_matches": user.is_authenticated and user.email.lower() == invitation.email.lower(),
    })


class LoginView(auth_views.LoginView):
    authentication_form = EmailAuthenticationForm
    redirect_authenticated_user = True


class PasswordResetView(auth_views.PasswordResetView):
    """Mails a reset link, within limits per address and per IP address: past them, the same
    "check your mail" page and nothing sent (`services.password_reset_permitted`)."""

    form_class = EmailPasswordResetForm  # its e-mail goes through the outbox (finops/tenancy/messages.py)
    success_url = reverse_lazy("password_reset_done")

    def form_valid(self, form):
        ip = get_client_ip_address(self.request)
        if not services.password_reset_permitted(email=form.cleaned_data["email"], ip=ip):
            log.warning("password reset not sent: over the limit for the address or for %s", ip)
            return HttpResponseRedirect(self.get_success_url())
        return super().form_valid(form)


urlpatterns = [
    path("", home, name="home"),
    path("login/", LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password-reset/", PasswordResetView.as_view(), name="password_reset"),
    path("password-reset/sent/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path("password-reset/<uidb64>/<token>/", auth_views.PasswordResetConfirmView.as_view(
        form_class=NewPasswordForm, success_url=reverse_lazy("password_reset_complete")), name="password_reset_confirm"),
    path("password-reset/done/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    path("invite/<str:token>/", invitation_accept, name="invitation_accept"),
]
