"""Costs → Mapping and Costs → Ledger as members use them: the unallocated bucket and its "Map
this", a rule written on the page (a bad one keeps what was typed), another organisation's rule is
a 404, the settings saved on the page post every month after commit, "Post now"."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from costs.models import MappingRule
from costs.services import cost_ledger_settings_save
from finops.ledger.models import DerivedPosting as CostPosting
from finops.ledger.models import JournalEntry, Source
from finops.tenancy.context import tenant_context

FILE = (b"ChargePeriodStart,ChargeCategory,BilledCost,EffectiveCost,BillingCurrency,ProviderName,ServiceName\n"
        b"2025-04-01T00:00:00Z,Usage,10.004,9.5,USD,AWS,EC2\n"
        b"2025-04-02T00:00:00Z,Usage,3.10,3.10,USD,Figma,Seats\n")


def url(name, org_slug="acme", **kwargs):
    return reverse(f"costs:{name}", kwargs={"org_slug": org_slug, **kwargs})


@pytest.fixture
def finance(client, users):
    client.force_login(users["finance"])
    return client


def test_the_bucket_lists_what_no_rule_maps_and_map_this_prefills_a_rule(finance, books, import_costs):
    import_costs(books.org, FILE)

    page = finance.get(url("mapping"))

    assert page.status_code == 200
    bucket = [(r.provider, r.service, r.missing, r.amount, r.items) for r in page.context["bucket"]]
    assert bucket == [("AWS", "EC2", "cost center and account", Decimal("9.50"), 1),
                      ("Figma", "Seats", "cost center and account", Decimal("3.10"), 1)]
    assert f'{url("mapping_rule_new")}?provider=AWS&amp;service=EC2' in page.content.decode()
    form = finance.get(url("mapping_rule_new") + "?provider=AWS&service=EC2").context["form"]
    assert (form["provider"].value(), form["service"].value(), form["name"].value()) == ("AWS", "EC2", "AWS")


def test_a_rule_written_on_the_page_maps_its_costs_and_a_bad_one_keeps_what_was_typed(finance, books, import_costs,
                                                                                      django_capture_on_commit_callbacks):
    import_costs(books.org, FILE)
    cost_ledger_settings_save(tenant=books.org, actor=None, entity=books.usd, accrual_account=books.payable,
                              unallocated_account=books.rent)
    bad = finance.post(url("mapping_rule_new"), {"name": "Cloud", "priority": "10", "provider": "", "service": "",
                                                 "cost_center": str(books.ops.pk)})
    assert bad.status_code == 400
    assert "Say what the rule matches" in bad.content.decode()
    assert (bad.context["form"]["name"].value(), bad.context["form"]["cost_center"].value()) == ("Cloud", str(books.ops.pk))

    with django_capture_on_commit_callbacks() as callbacks:
        done = finance.post(url("mapping_rule_new"), {"name": "Cloud", "priority": "10", "provider": "aws",
                                                      "cost_center": str(books.ops.pk), "account": str(books.software.pk),
                                                      "active": "on"})
    assert done.status_code == 302
    assert [c.__qualname__ for c in callbacks] == ["ledger_refresh_on_commit.<locals>.send"]  # one repost, queued
    page = finance.get(url("mapping"))
    assert [(r.provider, r.amount) for r in page.context["bucket"]] == [("Figma", Decimal("3.10"))]
    ((rule, use),) = page.context["rules"]
    assert (rule.name, use.items, use.amount_by_currency) == ("Cloud", 1, {"USD": Decimal("9.50")})


def test_another_organisations_rule_is_not_found_and_directors_cannot_write_rules(client, users, books, other_books):
    from costs.services import mapping_rule_save

    theirs = mapping_rule_save(tenant=other_books.org, actor=None, name="AWS", provider="AWS", cost_center=other_books.ops)
    client.force_login(users["finance"])
    assert client.get(url("mapping_rule_edit", pk=theirs.pk)).status_code == 404
    assert client.post(url("mapping_rule_delete", pk=theirs.pk)).status_code == 404
    client.force_login(users["director"])
    assert client.get(url("mapping")).status_code == 200
    assert client.post(url("mapping_rule_new"), {"name": "x", "provider": "x"}).status_code == 403
    with tenant_context(other_books.org):
        assert MappingRule.objects.count() == 1


def test_settings_saved_on_the_page_post_every_month_and_post_now_reports_it(finance, books, import_costs):
    import_costs(books.org, FILE)
    response = finance.post(url("ledger"), {"entity": str(books.usd.pk), "basis": "effective",
                                            "accrual_account": str(books.payable.pk),
                                            "unallocated_account": str(books.software.pk), "post_from": ""})
    assert response.status_code == 302

    posted = finance.post(url("ledger_post"), follow=True)

    assert "1 month(s) posted, 0 already in step." in posted.content.decode()
    with tenant_context(books.org):
        (posting,) = CostPosting.objects.all()
        assert (posting.amount, posting.version) == (Decimal("12.60"), 1)
        assert JournalEntry.objects.get(pk=posting.entry_id).source == Source.COSTS
    assert "JE-" in posted.content.decode()


def test_settings_that_cannot_work_keep_what_was_typed(finance, books):
    response = finance.post(url("ledger"), {"entity": str(books.usd.pk), "basis": "effective",
                                            "accrual_account": str(books.software.pk),
                                            "unallocated_account": str(books.software.pk), "post_from": "2025-13"})
    assert response.status_code == 400
    form = response.context["form"]
    assert form.errors == {"accrual_account": [f"Select a valid choice. {books.software.pk} is not one of the available choices."],
                           "post_from": ["Enter a month as YYYY-MM."]}
    assert form["entity"].value() == str(books.usd.pk)
