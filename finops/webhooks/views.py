"""Settings → Webhooks: admins register endpoints, read each one's secret and delivery log (each
delivery with every attempt), send a test event, and replay a delivery. The rules are the services' (`finops.webhooks.services`)."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_POST

from finops.errors import DomainError
from finops.tenancy.decorators import org_view
from finops.tenancy.permissions import Action

from .events import EVENT_TYPES
from .forms import EndpointForm
from .services import (
    access_endpoint,
    delivery_detail,
    delivery_replay,
    endpoint_create,
    endpoint_deliveries,
    endpoint_disable,
    endpoint_list,
    endpoint_test,
)


@org_view(Action.ADMINISTER)
def endpoints(request):
    form = EndpointForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            endpoint = endpoint_create(tenant=request.org, actor=request.user, **form.cleaned_data)
        except DomainError as exc:
            form.add_error("url" if "URL" in exc.message or "address" in exc.message or "resolve" in exc.message
                           else None, exc.message)
        else:
            messages.success(request, f"Registered {endpoint.url}: copy its signing secret below.")
            return redirect("webhooks:endpoint", org_slug=request.org.slug, pk=endpoint.pk)
    return render(request, "webhooks/endpoint_list.html",
                  {"form": form, "endpoints": endpoint_list(tenant=request.org), "event_types": EVENT_TYPES},
                  status=400 if form.errors else 200)


@org_view(Action.ADMINISTER)
def endpoint(request, pk: int):
    found = access_endpoint(tenant=request.org, pk=pk)
    return render(request, "webhooks/endpoint_detail.html",
                  {"endpoint": found, "deliveries": endpoint_deliveries(tenant=request.org, endpoint=found),
                   "event_types": EVENT_TYPES})


@org_view(Action.ADMINISTER)
@require_POST
def disable(request, pk: int):
    found = access_endpoint(tenant=request.org, pk=pk)
    endpoint_disable(tenant=request.org, actor=request.user, endpoint=found)
    messages.success(request, f"Disabled {found.url}: nothing more is sent there.")
    return redirect("webhooks:endpoint", org_slug=request.org.slug, pk=pk)


@org_view(Action.ADMINISTER)
@require_POST
def replay(request, pk: int, delivery_id: int):
    found = access_endpoint(tenant=request.org, pk=pk)
    try:
        delivery_replay(tenant=request.org, actor=request.user, endpoint=found, delivery_id=delivery_id)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Delivery #{delivery_id} is being sent again.")
    return redirect("webhooks:endpoint", org_slug=request.org.slug, pk=pk)


@org_view(Action.ADMINISTER)
@require_POST
def send_test(request, pk: int):
    found = access_endpoint(tenant=request.org, pk=pk)
    try:
        endpoint_test(tenant=request.org, actor=request.user, endpoint=found)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "A test event is on its way: its delivery is at the top of the log.")
    return redirect("webhooks:endpoint", org_slug=request.org.slug, pk=pk)


@org_view(Action.ADMINISTER)
def delivery(request, pk: int, delivery_id: int):
    import json

    found = access_endpoint(tenant=request.org, pk=pk)
    sent, attempts = delivery_detail(tenant=request.org, endpoint=found, delivery_id=delivery_id)
    return render(request, "webhooks/delivery_detail.html",
                  {"endpoint": found, "delivery": sent, "attempts": attempts,
                   "payload": json.dumps(sent.payload, indent=2, ensure_ascii=False)})


urlpatterns = [
    path("", endpoints, name="endpoints"),
    path("<int:pk>/", endpoint, name="endpoint"),
    path("<int:pk>/disable/", disable, name="disable"),
    path("<int:pk>/test/", send_test, name="test"),
    path("<int:pk>/deliveries/<int:delivery_id>/", delivery, name="delivery"),
    path("<int:pk>/deliveries/<int:delivery_id>/replay/", replay, name="replay"),
]
