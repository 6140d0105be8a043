"""The organisation's own pages under /o/<slug>/: settings, members and the audit log.

Everyone in the organisation reads them (viewers and auditors included); only admins change
settings and members, always through the services, which audit every change and keep at least
one admin.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from django.contrib import messages
from django.db.models import Q
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_POST

from finops.audit.models import AuditEvent
from finops.errors import DomainError
from finops.exports import DATETIME, Column, Sheet, export_filename, sheet_response
from finops.tenancy import selectors, services
from finops.tenancy.decorators import org_view
from finops.tenancy.forms import AuditFilterForm, InviteForm, OrganizationSettingsForm, RoleForm
from finops.tenancy.models import Membership
from finops.tenancy.permissions import Action, Role, can
from finops.tenancy.selectors import invitation_list_pending, member_list

AUDIT_PAGE_SIZE = 50
AUDIT_EXPORT_CAP = 100_000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


# --- settings ------------------------------------------------------------------------------------

@org_view(Action.VIEW, post=Action.ADMINISTER)
def settings(request):
    org = request.org
    editable = can(request.membership.role, Action.ADMINISTER)
    initial = {"name": org.name, "reporting_currency": str(org.reporting_currency),
               "fiscal_year_start": org.fiscal_year_start_month}
    form = OrganizationSettingsForm(request.POST or None, initial=initial, editable=editable)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.organization_update(tenant=org, actor=request.user, name=data["name"],
                                         currency=data["reporting_currency"], fiscal_year_start=data["fiscal_year_start"])
        except DomainError as error:
            form.add_error("fiscal_year_start" if "fiscal year" in error.message else None, error.message)
        else:
            messages.success(request, "Settings saved.")
            return redirect("org:settings", org_slug=org.slug)
    return render(request, "tenancy/organization_settings.html", {"form": form, "editable": editable})


# --- members -------------------------------------------------------------------------------------

def _members_context(request, *, invite_form=None) -> dict:
    members = list(member_list(tenant=request.org))
    admins = sum(1 for m in members if m.role == Role.ADMIN)
    return {
        "members": members,
        "sole_admin_id": next((m.pk for m in members if m.role == Role.ADMIN), None) if admins == 1 else None,
        "invitations": list(invitation_list_pending(tenant=request.org).select_related("invited_by")),
        "invite_form": invite_form or InviteForm(),
        "roles": Role.choices,
        "can_administer": can(request.membership.role, Action.ADMINISTER),
    }


@org_view(Action.VIEW)
def members(request):
    return render(request, "tenancy/member_list.html", _members_context(request))


@org_view(Action.ADMINISTER)
@require_POST
def member_invite(request):
    form = InviteForm(request.POST)
    if form.is_valid():
        try:
            services.invitation_create(tenant=request.org, actor=request.user, email=form.cleaned_data["email"],
                                       role=form.cleaned_data["role"])
        except DomainError as error:
            form.add_error("email", error.message)
        else:
            messages.success(request, f"Invitation sent to {form.cleaned_data['email']}.")
            return redirect("org:members", org_slug=request.org.slug)
    return render(request, "tenancy/member_list.html", _members_context(request, invite_form=form))


def _membership(request, pk: int) -> Membership:
    return selectors.access_membership(tenant=request.org, pk=pk)


def _act(request, action, success: str):
    try:
        action()
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, success)
    return redirect("org:members", org_slug=request.org.slug)


@org_view(Action.ADMINISTER)
@require_POST
def member_role(request, pk: int):
    membership = _membership(request, pk)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose one of the roles in the list.")
        return redirect("org:members", org_slug=request.org.slug)
    role = form.cleaned_data["role"]
    return _act(request, lambda: services.member_set_role(tenant=request.org, actor=request.user,
                                                          membership=membership, role=role),
                f"{membership.user.email} is now {Role(role).label.lower()}.")


@org_view(Action.ADMINISTER)
@require_POST
def member_remove(request, pk: int):
    membership = _membership(request, pk)
    return _act(request, lambda: services.member_remove(tenant=request.org, actor=request.user, membership=membership),
                f"{membership.user.email} no longer has access to {request.org.name}.")


@org_view(Action.ADMINISTER)
@require_POST
def invitation_revoke(request, pk: int):
    invitation = selectors.access_invitation(tenant=request.org, pk=pk)
    return _act(request, lambda: services.invitation_revoke(tenant=request.org, actor=request.user, invitation=invitation),
                f"The invitation to {invitation.email} was withdrawn.")


# --- audit log -----------------------------------------------------------------------------------

def _cursor_of(event: AuditEvent, direction: str) -> str:
    """A keyset cursor on the log's order (at, id): direction "b" = older than, "a" = newer than."""
    micros = (event.at - EPOCH) // MICROSECOND  # integers: a float would lose the last microsecond
    return f"{direction}{micros}_{event.pk}"


def _page(queryset, cursor: str) -> tuple[list[AuditEvent], str, str]:
    """One page of events, newest first, and the cursors of the older and newer pages."""
    if cursor:
        direction, rest = cursor[0], cursor[1:]
        micros, pk = (int(part) for part in rest.split("_"))
        at = EPOCH + micros * MICROSECOND
        if direction == "b":
            queryset = queryset.filter(Q(at__lt=at) | Q(at=at, id__lt=pk), at__lte=at).order_by("-at", "-id")
        else:
            queryset = queryset.filter(Q(at__gt=at) | Q(at=at, id__gt=pk), at__gte=at).order_by("at", "id")
    rows = list(queryset[: AUDIT_PAGE_SIZE + 1])
    more = len(rows) > AUDIT_PAGE_SIZE
    rows = rows[:AUDIT_PAGE_SIZE]
    newer_first = not cursor or cursor[0] == "b"
    if not newer_first:
        rows.reverse()
    older = _cursor_of(rows[-1], "b") if rows and (more or not newer_first) else ""
    newer = _cursor_of(rows[0], "a") if rows and cursor and (newer_first or more) else ""
    return rows, older, newer


def _changes(event: AuditEvent) -> list[tuple[str, str, str]]:
    """(field, before, after) for every field that appears in either side."""
    before, after = event.before or {}, event.after or {}
    if not isinstance(before, dict) or not isinstance(after, dict):
        return [("", _text(before), _text(after))]
    keys = list(dict.fromkeys([*before.keys(), *after.keys()]))
    return [(key, _text(before.get(key)), _text(after.get(key))) for key in keys]


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


@org_view(Action.VIEW)
def audit(request):
    filters = AuditFilterForm(request.GET).filters()
    events = AuditEvent.objects.select_related("actor").order_by("-at", "-id")
    if filters["action"]:
        events = events.filter(action=filters["action"])
    if filters["object_type"]:
        events = events.filter(object_type=filters["object_type"])
    if request.GET.get("format") in {"csv", "xlsx"}:
        return sheet_response(request.GET["format"], audit_sheet(request.org, filters, events))
    rows, older, newer = _page(events, filters["cursor"])
    # The filter menus offer what the recent log contains (bounded: the log grows without end).
    recent = AuditEvent.objects.order_by("-at", "-id").values("id")[:5000]
    choices = AuditEvent.objects.filter(id__in=recent).order_by().values_list("action", "object_type").distinct()
    actions = sorted({a for a, _ in choices} | ({filters["action"]} - {""}))
    object_types = sorted({t for _, t in choices} | ({filters["object_type"]} - {""}))
    context = {"events": [(e, _changes(e)) for e in rows], "older": older, "newer": newer, "filters": filters,
               "actions": actions, "object_types": object_types, "page_size": AUDIT_PAGE_SIZE}
    template = "tenancy/audit_list.html#log" if request.htmx and not request.htmx.history_restore_request else "tenancy/audit_list.html"
    return render(request, template, context)


def audit_sheet(org, filters: dict, events) -> Sheet:
    """The audit log under its filters as a sheet to hand on (newest first, at most
    AUDIT_EXPORT_CAP events): timestamps in the project's time zone, named in the title."""
    truncated = events[AUDIT_EXPORT_CAP:AUDIT_EXPORT_CAP + 1].exists()
    columns = [Column(f"At ({timezone.get_current_timezone_name()})", DATETIME), Column("Who"), Column("Action"),
               Column("Object type"), Column("Object id"), Column("Object"), Column("Before", width=60),
               Column("After", width=60)]
    rows = ((e.at, e.actor_label, e.action, e.object_type, e.object_id, e.object_repr, _text(e.before),
             _text(e.after)) for e in events[:AUDIT_EXPORT_CAP].iterator())
    about = [org.name, *(f"{label} {filters[key]}" for key, label in (("action", "Action"),
                                                                     ("object_type", "Object type")) if filters[key])]
    if len(about) == 1:
        about.append("All events")
    if truncated:
        about.append(f"the newest {AUDIT_EXPORT_CAP:,} events only")
    return Sheet(title="Audit log", columns=columns, rows=rows, about=about,
                 filename=export_filename("audit-log", org.slug, filters["action"], filters["object_type"]))


urlpatterns = [
    path("settings/", settings, name="settings"),
    path("members/", members, name="members"),
    path("members/invite/", member_invite, name="member_invite"),
    path("members/<int:pk>/role/", member_role, name="member_role"),
    path("members/<int:pk>/remove/", member_remove, name="member_remove"),
    path("invitations/<int:pk>/revoke/", invitation_revoke, name="invitation_revoke"),
    path("audit/", audit, name="audit"),
]
