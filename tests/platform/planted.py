"""Two organisations' worth of every kind of object, each named with a canary string, and every
organisation URL with the ids it takes: what the isolation tests (test_isolation.py,
test_cache_control.py) request across tenants."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from budgets import services as budgets
from budgets.alerts.evaluation import alerts_evaluate
from budgets.models import Alert, AlertRule, AlertThreshold, BudgetLine
from budgets.selectors import budget_periods, version_latest
from budgets.transfers.requests import transfer_request
from budgets.uploads import budget_upload_create
from costs.posting import cost_ledger_refresh
from costs.services import cost_import_create, cost_import_run, cost_ledger_settings_save, mapping_rule_save
from finops.ledger import periods as ledger_periods
from finops.ledger import services as ledger
from finops.ledger.chart_import import chart_import_job_create, chart_import_job_run
from finops.ledger.importers import gl_import
from finops.ledger.periods import period_ensure
from finops.ledger.services import LineSpec
from finops.tenancy import services as tenancy
from finops.tenancy.context import tenant_context
from finops.tenancy.permissions import Role
from tests.builders import make_books, member


@dataclass
class Planted:
    org: object
    books: object
    entry: object
    period: object
    job: object
    membership: object
    invitation: object
    budget: object
    version: object
    transfer: object
    alert: object
    upload: object
    chart_job: object
    api_token: object
    webhook: object
    webhook_delivery: int
    cost_job: object
    mapping_rule: object
    canary: str


def plant(org, canary: str) -> Planted:
    books = make_books(org)
    ledger.account_save(tenant=org, actor=None, code="6999", name=f"{canary} account", type="expense")
    ledger.cost_center_save(tenant=org, actor=None, code="CNRY", name=f"{canary} cost center")
    entry = ledger.journal_post(
        tenant=org, actor=None, entity=books.usd, date=date(2026, 3, 12), memo=f"{canary} memo",
        reference=f"{canary}-ref",
        lines=[LineSpec(books.rent.pk, Decimal("1234.56"), books.ops.pk, memo=f"{canary} line"),
               LineSpec(books.cash.pk, Decimal("-1234.56"))],
    ).entry
    csv = (f"date,entry_ref,entity,account,cost_center,amount,currency,memo\n"
           f"2026-03-14,{canary}-1,US,6100,OPS,10.00,USD,{canary} import\n"
           f"2026-03-14,{canary}-1,US,1000,,-10.00,USD,{canary} import\n").encode()
    result = gl_import(tenant=org, actor=None, data=csv, filename=f"{canary}.csv")
    assert result.created == 1, result.errors
    invitation, _ = tenancy.invitation_create(tenant=org, actor=None, email=f"{canary.lower()}@invitee.test",
                                              role=Role.VIEWER)
    budget = budgets.budget_create(tenant=org, actor=None, entity=books.usd, fiscal_year=2026,
                                   name=f"{canary} plan")
    version = version_latest(tenant=org, budget=budget)
    march, april = budget_periods(tenant=org, budget=budget)[2:4]
    budgets.budget_lines_set(tenant=org, actor=None, version=version, cells=[
        (books.rent, books.ops, march, Decimal("5000.00")), (books.rent, books.ops, april, Decimal("5000.00"))])
    budgets.version_submit(tenant=org, actor=None, version=version)
    budgets.version_approve(tenant=org, actor=None, version=version)
    with tenant_context(org):
        source, destination = (BudgetLine.objects.get(version=version, period=p) for p in (march, april))
    transfer = transfer_request(tenant=org, actor=None, version=version, source=source, destination=destination,
                                amount=Decimal("100.00"), reason=f"{canary} reason")
    with tenant_context(org):  # no rule service yet: the rule editor is still to come
        rule = AlertRule.objects.create(tenant=org, name=f"{canary} rule", budget=budget, recipient_roles=["finance"])
        AlertThreshold.objects.create(tenant=org, rule=rule, kind="consumed_pct", pct=Decimal("20"), amount=0)
    assert alerts_evaluate(tenant=org, as_of=date(2026, 3, 31)).alerts_created == 1
    with tenant_context(org):
        alert = Alert.objects.get(rule=rule)
    upload = budget_upload_create(tenant=org, actor=None, version=version, filename=f"{canary}-plan.csv",
                                  data=f"entity,account,period,amount\nUS,6100,2026-05,{canary}\n".encode(),
                                  enqueue=False)
    chart_job = chart_import_job_run(tenant=org, job_id=chart_import_job_create(
        tenant=org, actor=None, filename=f"{canary}-chart.csv", enqueue=False,
        data=f"kind,code,name,type\naccount,6998,{canary} chart account,expense\n".encode()).pk)
    assert chart_job.status == "succeeded", chart_job.errors
    from django.contrib.auth import get_user_model

    from finops.api.tokens import token_create

    api_token = token_create(tenant=org, actor=None, name=f"{canary} token", scopes=["read"],
                             user=get_user_model().objects.get(email=f"admin@{org.slug}.test")).token
    from finops.notifications.models import Delivery
    from finops.webhooks.services import endpoint_create

    webhook = endpoint_create(tenant=org, actor=None, url=f"http://127.0.0.1:9/{canary.lower()}")
    period_close_for_webhook = period_ensure(tenant=org, d=date(2026, 2, 1))
    ledger_periods.period_close(tenant=org, actor=None, period=period_close_for_webhook)
    with tenant_context(org):
        webhook_delivery = Delivery.objects.filter(channel="webhook").values_list("pk", flat=True).first()
    cost_job = cost_import_run(tenant=org, job_id=cost_import_create(
        tenant=org, actor=None, filename=f"{canary}-costs.csv", source_format="csv", enqueue=False,
        data=f"date,vendor,description,amount\n2026-03-02,{canary} vendor,{canary} cost,12.50\n".encode()).pk)
    assert cost_job.status == "succeeded", cost_job.errors
    mapping_rule = mapping_rule_save(tenant=org, actor=None, name=f"{canary} rule", provider=f"{canary} vendor",
                                     cost_center=books.ops, account=books.rent)
    cost_ledger_settings_save(tenant=org, actor=None, entity=books.usd, accrual_account=books.payable,
                              unallocated_account=books.software)
    cost_ledger_refresh(tenant=org, actor=None)
    return Planted(
        org=org, books=books, entry=entry, period=period_ensure(tenant=org, d=date(2026, 3, 1)), job=result.job,
        membership=member(org, user__email=f"viewer@{org.slug}.test"),
        invitation=invitation, budget=budget, version=version, transfer=transfer, alert=alert, upload=upload,
        chart_job=chart_job, api_token=api_token, webhook=webhook, webhook_delivery=webhook_delivery, cost_job=cost_job,
        mapping_rule=mapping_rule, canary=canary,
    )


# url name → the ids it takes, taken from the planted organisation.
FOREIGN_KWARGS = {
    "reporting:dashboard": lambda p: {},
    "reporting:reports": lambda p: {},
    "reporting:budget_glance": lambda p: {},
    "budgets:index": lambda p: {},
    "budgets:budget_detail": lambda p: {"pk": p.budget.pk},
    "budgets:version": lambda p: {"pk": p.version.pk},
    "budgets:grid_cell": lambda p: {"pk": p.version.pk},
    "budgets:grid_paste": lambda p: {"pk": p.version.pk},
    "budgets:grid_spread": lambda p: {"pk": p.version.pk},
    "budgets:version_diff": lambda p: {"pk": p.version.pk},
    "budgets:version_template": lambda p: {"pk": p.version.pk},
    "budgets:version_upload": lambda p: {"pk": p.version.pk},
    "budgets:upload_detail": lambda p: {"pk": p.upload.pk},
    "budgets:version_workflow": lambda p: {"pk": p.version.pk, "action": "lock"},
    "budgets:variance": lambda p: {"pk": p.version.pk},
    "budgets:consolidated": lambda p: {},
    "api_tokens:tokens": lambda p: {},
    "api_tokens:revoke": lambda p: {"pk": p.api_token.pk},
    "webhooks:endpoints": lambda p: {},
    "ledger:changed": lambda p: {},
    "webhooks:endpoint": lambda p: {"pk": p.webhook.pk},
    "webhooks:disable": lambda p: {"pk": p.webhook.pk},
    "webhooks:replay": lambda p: {"pk": p.webhook.pk, "delivery_id": p.webhook_delivery},
    "webhooks:test": lambda p: {"pk": p.webhook.pk},
    "webhooks:delivery": lambda p: {"pk": p.webhook.pk, "delivery_id": p.webhook_delivery},
    "budgets:transfers": lambda p: {},
    "budgets:transfers_export": lambda p: {},
    "budgets:alert_inbox": lambda p: {},
    "budgets:alert_acknowledge": lambda p: {"pk": p.alert.pk},
    "budgets:alert_snooze": lambda p: {"pk": p.alert.pk},
    "budgets:alert_reopen": lambda p: {"pk": p.alert.pk},
    "notifications:preferences": lambda p: {},
    "budgets:alert_rules": lambda p: {},
    "budgets:alert_rule_new": lambda p: {},
    "budgets:alert_rule_edit": lambda p: {"pk": p.alert.rule_id},
    "budgets:alert_rule_active": lambda p: {"pk": p.alert.rule_id},
    "budgets:alert_rule_delete": lambda p: {"pk": p.alert.rule_id},
    "budgets:alert_rule_preview": lambda p: {"pk": p.alert.rule_id},
    "budgets:transfer_create": lambda p: {"version_pk": p.version.pk},
    "budgets:transfer_proposal": lambda p: {"version_pk": p.version.pk},
    "budgets:transfer_lines": lambda p: {"version_pk": p.version.pk},
    "budgets:transfer_approve": lambda p: {"pk": p.transfer.pk},
    "budgets:transfer_reject": lambda p: {"pk": p.transfer.pk},
    "budgets:transfer_cancel": lambda p: {"pk": p.transfer.pk},
    "costs:index": lambda p: {},
    "costs:import_list": lambda p: {},
    "costs:import_detail": lambda p: {"pk": p.cost_job.pk},
    "costs:import_errors": lambda p: {"pk": p.cost_job.pk},
    "costs:mapping": lambda p: {},
    "costs:mapping_rule_new": lambda p: {},
    "costs:mapping_rule_edit": lambda p: {"pk": p.mapping_rule.pk},
    "costs:mapping_rule_delete": lambda p: {"pk": p.mapping_rule.pk},
    "costs:ledger": lambda p: {},
    "costs:ledger_post": lambda p: {},
    "revenue:index": lambda p: {},
    "planning:index": lambda p: {},
    "org:settings": lambda p: {},
    "org:members": lambda p: {},
    "org:member_invite": lambda p: {},
    "org:member_role": lambda p: {"pk": p.membership.pk},
    "org:member_remove": lambda p: {"pk": p.membership.pk},
    "org:invitation_revoke": lambda p: {"pk": p.invitation.pk},
    "org:audit": lambda p: {},
    "ledger:journal": lambda p: {},
    "ledger:journal_export": lambda p: {},
    "ledger:entry_create": lambda p: {},
    "ledger:entry_line": lambda p: {},
    "ledger:entry_detail": lambda p: {"pk": p.entry.pk},
    "ledger:entry_reverse": lambda p: {"pk": p.entry.pk},
    "ledger:accounts": lambda p: {},
    "ledger:account_create": lambda p: {},
    "ledger:account_edit": lambda p: {"pk": p.books.rent.pk},
    "ledger:cost_centers": lambda p: {},
    "ledger:cost_center_create": lambda p: {},
    "ledger:cost_center_edit": lambda p: {"pk": p.books.ops.pk},
    "ledger:entities": lambda p: {},
    "ledger:periods": lambda p: {},
    "ledger:period_close": lambda p: {"pk": p.period.pk},
    "ledger:period_reopen": lambda p: {"pk": p.period.pk},
    "ledger:fx_rates": lambda p: {},
    "ledger:import_list": lambda p: {},
    "ledger:import_template": lambda p: {},
    "ledger:import_detail": lambda p: {"pk": p.job.pk},
    "ledger:chart_import": lambda p: {},
    "ledger:chart_import_detail": lambda p: {"pk": p.chart_job.pk},
    "ledger:import_errors": lambda p: {"pk": p.job.pk},
}
