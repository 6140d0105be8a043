"""Resolve /o/<slug>/..., check membership, and run the request inside the tenant's context.

The context (and its transaction) wraps the view *and* the template rendering, because a
TemplateResponse renders after the view returns; ATOMIC_REQUESTS would cover only the view,
and a lazy queryset evaluated in a template would then run with no tenant set. A non-member
gets the same 404 for every URL of the organisation, whether the ids in it exist or not.
"""

from __future__ import annotations

import re

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404

from finops.errors import NotAllowed, NotFound

from .context import tenant_context
from .selectors import membership_in, organization_for_slug

TENANT_PATH = re.compile(r"^/o/(?P<slug>[-a-zA-Z0-9_]+)/")


class TenantMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.org = None
        request.membership = None
        match = TENANT_PATH.match(request.path_info)
        if match is None:
            return self.get_response(request)
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        org = organization_for_slug(match["slug"])
        if org is None:
            raise Http404("No such organisation.")
        with tenant_context(org, user=request.user):
            membership = membership_in(tenant=org, user=request.user)
            if membership is None:
                raise Http404("No such organisation.")
            request.org = org
            request.membership = membership
            response = self.get_response(request)
            if response.status_code >= 500:
                transaction.set_rollback(True)
            if getattr(response, "streaming", False):
                # A streaming body would be produced after this transaction (and the tenant
                # setting) ended. Materialise it while both are in force.
                response.streaming_content = [b"".join(response.streaming_content)]
        return response

    def process_exception(self, request, exception):
        """A selector's NotFound (missing, or another organisation's) is a 404, as for the
        organisation; a service's NotAllowed (the role does not grant it) is a 403."""
        if isinstance(exception, NotFound):
            raise Http404(exception.message) from exception
        if isinstance(exception, NotAllowed):
            raise PermissionDenied(exception.message) from exception
        return None
