"""Reallocation pages: the transfer requests (everyone reads), the request form with the
version's lines (original, transfers, effective, actual, available; directors and finance),
approve / reject (finance), cancel (the requester) and the ROI proposal page."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.views.decorators.http import require_POST

from finops.errors import DomainError
from finops.ledger.models import Account, AccountType, CostCenter, Period
from finops.shell import org_view
from finops.tenancy.permissions import Action, can

from ..models import TransferRequest, TransferStatus
from ..proposals import proposal_accept, proposal_build
from ..selectors import version_get
from ..transfers import (
    line_funds,
    transfer_approve,
    transfer_cancel,
    transfer_list,
    transfer_reject,
    transfer_request,
)


class TransferForm(forms.Form):
    source = forms.TypedChoiceField(coerce=int, label="From line")
    account = forms.ModelChoiceField(queryset=None, label="To account")
    cost_center = forms.ModelChoiceField(queryset=None, required=False, label="To cost center")
    period = forms.ModelChoiceField(queryset=None, label="To month")
    amount = forms.DecimalField(min_value=Decimal("0.01"), max_digits=20, decimal_places=4)
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)
    override_reason = forms.CharField(required=False, max_length=2000,
                                      help_text="Finance only: move more than the line has available, and why.")

    def __init__(self, *args, version, funds, may_override: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["source"].choices = [("", "—")] + [(f.line_id, f.label) for f in funds]
        self.fields["account"].queryset = Account.objects.filter(
            active=True, type__in=[AccountType.REVENUE, AccountType.EXPENSE]).order_by("code")
        self.fields["cost_center"].queryset = CostCenter.objects.filter(active=True).order_by("code")
        self.fields["period"].queryset = Period.objects.filter(fiscal_year=version.budget.fiscal_year).order_by("number")
        self.fields["period"].label_from_instance = lambda p: f"{p.start:%Y-%m}"
        if not may_override:
            del self.fields["override_reason"]


def _back_to_list(request, anchor: str = ""):
    response = redirect("budgets:transfers", org_slug=request.org.slug)
    response["Location"] += anchor
    return response


@org_view(Action.VIEW)
def transfers(request):
    status = request.GET.get("status", "")
    status = status if status in TransferStatus.values else ""
    context = {"transfers": transfer_list(tenant=request.org, status=status or None)[:200],
               "status": status, "statuses": TransferStatus.choices,
               "may_decide": can(request.membership.role, Action.WRITE)}
    template = "budgets/transfer_list.html#table" if request.htmx else "budgets/transfer_list.html"
    return render(request, template, context)


@org_view(Action.REQUEST)
def transfer_create(request, version_pk: int):
    version = version_get(tenant=request.org, pk=version_pk)
    funds = line_funds(tenant=request.org, version=version)
    may_override = can(request.membership.role, Action.WRITE)
    form = TransferForm(request.POST or None, version=version, funds=funds, may_override=may_override,
                        initial={"source": request.GET.get("source")})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            transfer = transfer_request(
                tenant=request.org, actor=request.user, version=version, source=data["source"],
                destination=(data["account"], data["cost_center"], data["period"]), amount=data["amount"],
                reason=data["reason"], override_reason=data.get("override_reason", ""))
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"Transfer #{transfer.pk} of {transfer.amount:,.2f} requested.")
            return _back_to_list(request)
    return render(request, "budgets/transfer_form.html", {"version": version, "funds": funds, "form": form})


def _decision(request, pk: int, service, verb: str, **kwargs):
    transfer = get_object_or_404(TransferRequest.objects, pk=pk)
    try:
        service(tenant=request.org, actor=request.user, transfer=transfer, **kwargs)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Transfer #{transfer.pk} {verb}.")
    return _back_to_list(request, f"#transfer-{transfer.pk}")


@org_view(Action.WRITE)
@require_POST
def transfer_approve_view(request, pk: int):
    return _decision(request, pk, transfer_approve, "approved", comment=request.POST.get("comment", ""),
                     override_reason=request.POST.get("override_reason", ""))


@org_view(Action.WRITE)
@require_POST
def transfer_reject_view(request, pk: int):
    return _decision(request, pk, transfer_reject, "rejected", comment=request.POST.get("comment", ""))


@org_view(Action.REQUEST)
@require_POST
def transfer_cancel_view(request, pk: int):
    return _decision(request, pk, transfer_cancel, "cancelled")


def _proposal_inputs(post, funds) -> tuple[list[tuple], dict, list[str]]:
    """(lines for proposal_build, what the user typed per line, errors) from the proposal form."""
    picked = set(post.getlist("pick"))
    typed = {f.line_id: {k: post.get(f"{k}_{f.line_id}", "").strip() for k in ("min", "max", "roi")} for f in funds}
    lines, errors = [], []
    for f in funds:
        if str(f.line_id) not in picked:
            continue
        values = typed[f.line_id]
        try:
            minimum = Decimal(values["min"] or "0")
            maximum = Decimal(values["max"]) if values["max"] else f.effective + sum(
                (g.effective for g in funds if str(g.line_id) in picked and g.line_id != f.line_id), Decimal(0))
        except ArithmeticError:
            errors.append(f"{f.label}: the minimum and maximum must be amounts.")
            continue
        lines.append((f.line_id, minimum, maximum, values["roi"]))
    return lines, typed, errors


@org_view(Action.VIEW, post=Action.REQUEST)
def transfer_proposal(request, version_pk: int):
    version = version_get(tenant=request.org, pk=version_pk)
    funds = line_funds(tenant=request.org, version=version)
    context = {"version": version, "funds": funds, "picked": set(), "typed": {}, "errors": [], "proposal": None}
    if request.method == "POST":
        lines, typed, errors = _proposal_inputs(request.POST, funds)
        context.update(picked={int(pk) for pk in request.POST.getlist("pick") if pk.isdigit()}, typed=typed,
                       errors=errors)
        if not errors:
            try:
                proposal = proposal_build(tenant=request.org, version=version, lines=lines)
                context["proposal"] = proposal
                if request.POST.get("accept"):
                    made = proposal_accept(tenant=request.org, actor=request.user, version=version, proposal=proposal)
                    messages.success(request, f"{made[0].reason}: {len(made)} transfer requests made.")
                    return _back_to_list(request)
            except DomainError as exc:
                context["errors"] = [exc.message]
    context["rows"] = [(f, context["typed"].get(f.line_id, {})) for f in funds]
    return render(request, "budgets/transfer_proposal.html", context)


urlpatterns = [
    path("transfers/", transfers, name="transfers"),
    path("versions/<int:version_pk>/transfers/new/", transfer_create, name="transfer_create"),
    path("versions/<int:version_pk>/proposal/", transfer_proposal, name="transfer_proposal"),
    path("transfers/<int:pk>/approve/", transfer_approve_view, name="transfer_approve"),
    path("transfers/<int:pk>/reject/", transfer_reject_view, name="transfer_reject"),
    path("transfers/<int:pk>/cancel/", transfer_cancel_view, name="transfer_cancel"),
]
