"""Live pages: the dashboard, the journal and budget vs actual show new postings (from a page, an
import or the API) without a reload. Each page carries a poller (`ledger/_live.html`) that asks
every LIVE_POLL_SECONDS whether the ledger's stamp moved: one index probe, answered 204 (htmx
does nothing) while nothing changed; when it moved, the answer raises `ledger-changed` and the
page's table or body fetches itself again — the heavy queries run only then."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render
from django.urls import path
from django.views.decorators.http import require_GET

from finops.tenancy.decorators import org_view
from finops.tenancy.permissions import Action

from ..selectors import ledger_stamp


@org_view(Action.VIEW)
@require_GET
def changed(request):
    stamp = ledger_stamp(tenant=request.org)
    try:
        since = int(request.GET.get("since", ""))
    except ValueError:
        since = -1
    if since == stamp:
        return HttpResponse(status=204)
    response = render(request, "ledger/_live.html", {"live_stamp": stamp})
    response["HX-Trigger"] = "ledger-changed"
    return response


urlpatterns = [path("changed/", changed, name="changed")]
