"""The director's morning in a real browser, at 1440 px and at 390 px, on the 15th of a month
(the clock travels there, server and test alike): the dashboard opens on the last complete month,
one step forward reads the month to date against the budget paced to the day, the open alert is
acknowledged with a note, and budget vs actual exports to an XLSX that opens ready to hand on.

Seeded through the services: the books, a budget for this calendar year (approved), last month's
and this month's actuals, one alert rule; the alerts are evaluated as of the 15th."""

from __future__ import annotations

import calendar
import io
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal

import pytest
import time_machine
from django.contrib.auth import get_user_model
from openpyxl import load_workbook
from playwright.sync_api import expect

from budgets import services
from budgets.alerts.evaluation import alerts_evaluate
from budgets.alerts.rules import ThresholdSpec, alert_rule_create
from budgets.selectors import budget_periods, version_latest
from finops.ledger import services as ledger
from finops.ledger.services import LineSpec
from tests.builders import make_books, make_org
from tests.e2e.browser import SCREENSHOTS, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# The 15th of the real month: a session cookie set on the travelled clock stays valid in the browser.
TODAY = date.today().replace(day=15)
DAYS = calendar.monthrange(TODAY.year, TODAY.month)[1]
PREVIOUS = date(TODAY.year - (TODAY.month == 1), (TODAY.month - 2) % 12 + 1, 10)
RENT, SOFTWARE, REVENUE = Decimal("3100.00"), Decimal("1000.00"), Decimal("31000.00")  # a month's budget


def money(value: Decimal) -> str:
    text = f"{abs(value):,.2f}"
    return f"({text})" if value < 0 else text


def paced(budget: Decimal) -> Decimal:
    return (budget * 15 / DAYS).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def post(books, on: date, account, amount: str, cc) -> None:
    ledger.journal_post(tenant=books.org, actor=None, entity=books.usd, date=on, lines=[
        LineSpec(account.pk, Decimal(amount), cc.pk), LineSpec(books.cash.pk, -Decimal(amount))])


@pytest.fixture
def morning():
    with time_machine.travel(datetime(TODAY.year, TODAY.month, 15, 9, 0, tzinfo=UTC), tick=True):
        org = make_org("acme", "Acme")
        books = make_books(org)
        budget = services.budget_create(tenant=org, actor=None, entity=books.usd, fiscal_year=TODAY.year,
                                        name=f"Plan {TODAY.year}")
        version = version_latest(tenant=org, budget=budget)
        services.budget_lines_set(tenant=org, actor=None, version=version, cells=[
            cell for p in budget_periods(tenant=org, budget=budget)
            for cell in ((books.rent, books.ops, p, RENT), (books.software, books.ops, p, SOFTWARE),
                         (books.revenue, books.sales, p, REVENUE))])
        users = {u.email.split("@")[0]: u for u in get_user_model().objects.filter(email__endswith="@acme.test")}
        services.version_submit(tenant=org, actor=users["finance"], version=version)
        services.version_approve(tenant=org, actor=users["admin"], version=version)
        # Last month, complete; this month through the 14th: the rent is paid for the whole month.
        post(books, PREVIOUS, books.rent, "3100", books.ops)
        post(books, PREVIOUS, books.software, "1000", books.ops)
        post(books, PREVIOUS, books.revenue, "-30000", books.sales)
        post(books, TODAY.replace(day=1), books.rent, "3100", books.ops)
        post(books, TODAY.replace(day=5), books.software, "450", books.ops)
        post(books, TODAY.replace(day=10), books.revenue, "-16000", books.sales)
        alert_rule_create(tenant=org, actor=users["finance"], budget=budget, name="Opex consumed",
                          account_type="expense", basis="month", recipient_roles=["director"],
                          thresholds=[ThresholdSpec("consumed_pct", Decimal("100"))])
        evaluation = alerts_evaluate(tenant=org, as_of=TODAY)
        assert evaluation.alerts_created == 1  # the rent: 100 % of its month consumed; nothing else
        yield books, version


def scroll_width(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def snap(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"director-{name}.png"), full_page=True)


def test_the_director_reads_the_month_to_date_acknowledges_the_alert_and_exports(live_server, browser, page,
                                                                              morning, tmp_path):
    books, version = morning
    base = f"{live_server.url}/o/acme"
    this_month, last_month = f"{TODAY:%B %Y}", f"{PREVIOUS:%B %Y}"
    sign_in(page, live_server.url, "director@acme.test")

    # 1. The dashboard opens on the last complete month, not on 15 days of this one. ----------
    heading = page.locator("#dashboard h1")
    expect(heading).to_have_text(last_month)
    page.get_by_label("Next month").click()
    expect(heading).to_contain_text(f"{this_month} month to date")
    expect(page.locator(".period-words")).to_have_text(f"Through 15 {TODAY:%B} (15 of {DAYS} days)")
    expect(page.locator(".kpi-compare").first).to_have_text(f"Change on {last_month}, pro rata to 15 of {DAYS} days")
    glance = page.locator("#budget-glance")
    expect(glance).to_contain_text("Paced budget to date")
    snap(page, "1440-dashboard")

    # 2. The open alert, acknowledged with a note. ---------------------------------------------
    glance.locator("[data-open-alerts]").click()
    expect(page).to_have_url(f"{base}/budgets/alerts/")
    row = page.locator("tr[id^=alert-]")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("6100 Rent · OPS")
    expect(row.locator("td[data-label=Consumed]")).to_have_text("100.0 %")
    row.locator("input[name=note]").fill("Rent is paid on the 1st for the month")
    row.get_by_role("button", name="Acknowledge").click()
    expect(page.locator("tr[id^=alert-]")).to_have_count(0)  # the open list is empty now
    page.goto(f"{base}/budgets/alerts/?status=all")
    expect(page.locator("tr[id^=alert-] .status-cell")).to_contain_text(
        "Acknowledged by director@acme.test")
    expect(page.locator("tr[id^=alert-] .status-cell")).to_contain_text("“Rent is paid on the 1st for the month”")

    # 3. Budget vs actual, month to date against the paced budget, exported. --------------------
    page.goto(f"{base}/budgets/")
    page.get_by_role("link", name="Budget vs actual").click()
    expect(page.locator(".basis-words strong")).to_have_text(
        f"Month to date through 15 {this_month} (15 of {DAYS} days), against the budget paced to the date")
    rent = page.locator("tr", has=page.locator("td.first", has_text="6100 Rent"))
    expect(rent.locator("td.num").nth(0)).to_have_text(money(RENT))
    expect(rent.locator("td.num").nth(1)).to_have_text(money(paced(RENT)))
    expect(rent.locator("td.num").nth(2)).to_have_text(money(RENT - paced(RENT)))
    snap(page, "1440-budget-vs-actual")
    with page.expect_download() as download:
        page.locator(".export").get_by_role("link", name="XLSX").click()
    assert download.value.suggested_filename == f"budget-vs-actual_acme_US_fy{TODAY.year}_month-{TODAY:%Y-%m}.xlsx"
    sheet = load_workbook(io.BytesIO(open(download.value.path(), "rb").read())).active
    assert sheet["A1"].value == "Budget vs actual" and sheet.freeze_panes == "A5"
    assert f"Month to date through 15 {this_month} (15 of {DAYS} days)" in sheet["A2"].value
    header = [c.value for c in sheet[4]]
    assert header[6:9] == ["Actual", "Paced budget", "Variance"]
    line = next(r for r in sheet.iter_rows(min_row=5) if r[1].value == "6100")
    assert (Decimal(str(line[6].value)), Decimal(str(line[7].value))) == (RENT, paced(RENT))
    assert line[7].number_format == "#,##0.00;(#,##0.00);#,##0.00"
    assert page.console_errors == []

    # 4. The same pages on a phone: nothing wider than the screen, the figures readable. --------
    phone = browser.new_context(viewport={"width": 390, "height": 844}, locale="en-US", is_mobile=True).new_page()
    sign_in(phone, live_server.url, "director@acme.test")
    phone.goto(f"{base}/?month={TODAY:%Y-%m}")
    expect(phone.locator("#dashboard h1")).to_contain_text("month to date")
    expect(phone.locator("#budget-glance")).to_contain_text("Paced budget to date")
    assert scroll_width(phone) <= 390
    snap(phone, "390-dashboard")
    phone.goto(f"{base}/budgets/alerts/?status=all")
    card = phone.locator("tr[id^=alert-]")
    expect(card.locator("td[data-label=Actual]")).to_be_visible()
    expect(card.locator("td[data-label=Actual]")).to_contain_text(money(RENT))
    assert scroll_width(phone) <= 390
    snap(phone, "390-alerts")
    phone.goto(f"{base}/budgets/versions/{version.pk}/variance/")
    expect(phone.locator(".basis-words strong")).to_contain_text("Month to date through 15")
    first_column = phone.locator("table.variance-table td.first").first.bounding_box()
    assert first_column["width"] <= 160  # the first column stays narrow; the figures scroll beside it
    assert scroll_width(phone) <= 390
    snap(phone, "390-budget-vs-actual")
