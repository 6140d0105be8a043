"""Which currencies are offered: ISO 4217 codes in circulation today (CLDR's legal tender, via
Babel), never historic, funds, metal or test codes; a code a row already has stays valid."""

from __future__ import annotations

import re
from datetime import date

import pytest
from django.urls import reverse

from finops.errors import DomainError
from finops.ledger import services as ledger
from finops.ledger.models import Entity
from finops.ledger.money import active_currencies, currency_choices, is_valid_currency
from finops.tenancy import services as tenancy
from finops.tenancy.context import tenant_context
from finops.tenancy.forms import OrganizationSettingsForm
from finops.tenancy.models import Organization

NOT_OFFERED = ["DEM", "FRF", "XAU", "XAG", "XTS", "XXX", "XDR", "BOV", "CLF", "USN", "CHE", "MXV"]


def test_active_currencies_are_the_circulating_iso_codes_only():
    active = active_currencies(date.today())
    assert {"USD", "EUR", "JPY", "GBP", "CHF", "KWD", "CLP", "BOB"} <= set(active)
    assert not set(NOT_OFFERED) & set(active)
    assert all(is_valid_currency(code) for code in active)  # django-money knows every one


def test_a_currency_leaves_the_list_on_the_day_it_leaves_circulation():
    assert "DEM" in active_currencies(date(2001, 6, 1)) and "EUR" in active_currencies(date(2001, 6, 1))
    assert "DEM" not in active_currencies(date(2002, 6, 1))  # the mark was legal tender until 28 February 2002


def test_the_choices_offer_active_codes_and_keep_a_stored_historic_one():
    codes = [code for code, _ in currency_choices()]
    assert codes == sorted(codes) and {"USD", "EUR", "JPY"} <= set(codes) and not set(NOT_OFFERED) & set(codes)
    assert dict(currency_choices())["USD"] == "USD — US Dollar"
    kept = [code for code, _ in currency_choices(keep="DEM")]
    assert set(kept) - set(codes) == {"DEM"}


def test_the_settings_form_offers_active_currencies_and_the_organisations_own(db):
    offered = [code for code, _ in OrganizationSettingsForm().fields["reporting_currency"].choices]
    assert {"USD", "EUR", "JPY"} <= set(offered) and not set(NOT_OFFERED) & set(offered)
    form = OrganizationSettingsForm(initial={"reporting_currency": "DEM"})
    assert "DEM" in [code for code, _ in form.fields["reporting_currency"].choices]


def test_the_settings_page_renders_no_historic_or_metal_currency(client, org, users):
    client.force_login(users["admin"])
    html = client.get(reverse("org:settings", kwargs={"org_slug": "acme"})).content.decode()
    options = re.findall(r'<option value="([A-Z]{3})"', html)
    assert "USD" in options and "EUR" in options and not set(NOT_OFFERED) & set(options)
    assert len(options) == len(active_currencies(date.today()))


def test_an_organisation_reporting_in_a_currency_since_withdrawn_keeps_it(client, org, users):
    # A row from before the mark left circulation: written directly, as no service would write it now.
    Organization.objects.filter(pk=org.pk).update(reporting_currency="DEM")
    client.force_login(users["admin"])
    page = reverse("org:settings", kwargs={"org_slug": "acme"})
    assert '<option value="DEM" selected>' in client.get(page).content.decode()
    response = client.post(page, {"name": "Acme AG", "reporting_currency": "DEM", "fiscal_year_start": "1"})
    assert response.status_code == 302
    org.refresh_from_db()
    assert (org.name, str(org.reporting_currency)) == ("Acme AG", "DEM")
    refused = client.post(page, {"name": "Acme AG", "reporting_currency": "FRF", "fiscal_year_start": "1"})
    assert refused.status_code == 200 and "Select a valid choice. FRF is not one of the available choices." in (
        refused.content.decode())


@pytest.mark.parametrize("code", ["DEM", "XAU", "XTS"])
def test_a_new_entity_or_organisation_is_refused_a_currency_out_of_circulation(books, users, code):
    message = f"{code} is not a currency in circulation today; pick a current ISO 4217 code."
    with pytest.raises(DomainError, match=re.escape(message)):
        ledger.entity_create(tenant=books.org, actor=users["finance"], code="DE", name="Acme GmbH",
                             functional_currency=code)
    with pytest.raises(DomainError, match=re.escape(message)):
        tenancy.organization_create(slug="initech", name="Initech", currency=code)
    with pytest.raises(DomainError, match=re.escape(message)):
        tenancy.organization_update(tenant=books.org, actor=users["admin"], name="Acme", fiscal_year_start=1,
                                    currency=code)


def test_the_entity_form_names_a_withdrawn_currency_and_keeps_what_was_typed(client, books, users):
    client.force_login(users["finance"])
    response = client.post(reverse("ledger:entities", kwargs={"org_slug": "acme"}),
                           {"code": "DE", "name": "Acme GmbH", "functional_currency": "dem"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "DEM is not a currency in circulation today; pick a current ISO 4217 code." in html
    assert 'value="Acme GmbH"' in html
    with tenant_context(books.org):
        assert not Entity.objects.filter(code="DE").exists()
