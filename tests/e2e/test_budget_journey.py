"""The budget journey in a real browser, end to end: finance creates a budget and pastes a block
copied from a spreadsheet into its grid, submits it, the admin approves it; finance uploads the
month's GL actuals, which a real Celery worker imports and then evaluates the variance alerts on,
delivering the alert e-mail over SMTP to a local server; the director opens budget vs actual from
the grid and from the e-mail, and drills down from a number to the journal lines behind it.

Only the books (entity, accounts, cost centers) and the alert rule are seeded directly. The
import's evaluation runs "as of today", so the budget is for this calendar year (the fiscal year
starts in January) and the actuals are dated this month."""

from __future__ import annotations

import calendar
import re
import time
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import pytest
from playwright.sync_api import expect

from budgets.models import AlertRule, AlertThreshold, Budget, BudgetLine, ThresholdKind
from finops.notifications.models import Delivery
from finops.tenancy.context import tenant_context
from tests.builders import make_books, make_org
from tests.e2e.browser import shot, sign_in
from tests.local_servers import celery_worker, child_env, smtp_server

pytestmark = [pytest.mark.e2e, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

TODAY = date.today()
FY = TODAY.year
M = TODAY.month  # the month the actuals land in, and the alert's month

# The block as Excel copies it: values as displayed (thousands separators), tabs, CRLF line ends.
RENT = ["12,500.00"] * 12
SOFTWARE = ["2,000.00", "2,000.00", "2,250.00", "2,250.00", "2,250.00", "2,500.00", "2,500.00", "2,500.00",
            "2,750.00", "2,750.00", "2,750.00", "3,000.00"]
REVENUE = [f"{40_000 + 1_000 * m:,}" for m in range(1, 13)]  # 41,000 … 52,000

ACTUAL_RENT = Decimal("12000.00")
ACTUAL_SOFTWARE = [Decimal("2187.50"), Decimal("1250.00")]  # two invoices, 3,437.50
ACTUAL_REVENUE = Decimal("52300.00")


def amount(text: str) -> Decimal:
    return Decimal(text.replace(",", ""))


def money(value: Decimal) -> str:
    """As the pages print money: 1,234.50, negatives in parentheses."""
    text = f"{abs(value):,.2f}"
    return f"({text})" if value < 0 else text


def pct(variance: Decimal, budget: Decimal) -> Decimal:
    return (variance / abs(budget) * 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def paced(budget: Decimal) -> Decimal:
    """The month's budget paced to today: × days gone (today included) ÷ days in the month, rounded once."""
    days = calendar.monthrange(TODAY.year, TODAY.month)[1]
    return (budget * TODAY.day / days).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def gl_csv() -> bytes:
    day = TODAY.replace(day=1).isoformat()
    rows = [
        "date,entry_ref,entity,account,cost_center,amount,currency,memo",
        f"{day},GL-1,US,6100,OPS,{ACTUAL_RENT},,Office rent",
        f"{day},GL-1,US,2000,,-{ACTUAL_RENT},,Office rent",
        f"{day},GL-2,US,6200,OPS,{ACTUAL_SOFTWARE[0]},,Cloud hosting",
        f"{day},GL-2,US,2000,,-{ACTUAL_SOFTWARE[0]},,Cloud hosting",
        f"{day},GL-3,US,6200,OPS,{ACTUAL_SOFTWARE[1]},,Design tools",
        f"{day},GL-3,US,2000,,-{ACTUAL_SOFTWARE[1]},,Design tools",
        f"{day},GL-4,US,1000,,{ACTUAL_REVENUE},,Subscriptions",
        f"{day},GL-4,US,4000,SALES,-{ACTUAL_REVENUE},,Subscriptions",
    ]
    return ("\n".join(rows) + "\n").encode()


@pytest.fixture
def mail_worker(tmp_path, live_server):
    """A real Celery worker on this test's database and Redis, whose e-mail goes over SMTP to a
    local server and whose links point at the live server."""
    with smtp_server() as (port, inbox):
        env = child_env()
        env["EMAIL_URL"] = f"smtp://127.0.0.1:{port}"
        env["SITE_URL"] = live_server.url
        with celery_worker(tmp_path / "worker.log", env) as log:
            yield inbox, log


def open_page(browser, errors: list[str]):
    """Another user's browser (a context of its own), reporting into the same error list."""
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="en-US")
    page = context.new_page()
    page.on("console", lambda msg: errors.append(f"{page.url}: {msg.text}") if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(f"{page.url}: {exc}"))
    return page


def cells(row) -> list[str]:
    return [t.strip() for t in row.locator("td.num").all_inner_texts()]


def test_finance_pastes_a_budget_admin_approves_actuals_alert_the_director_who_drills_down(
        live_server, browser, page, mail_worker, tmp_path):
    inbox, log = mail_worker
    org = make_org("acme", "Acme")
    books = make_books(org)
    base = f"{live_server.url}/o/acme"
    finance, errors = page, page.console_errors

    # 1. Finance creates the budget from the list, adds its rows, pastes the block, submits. ----
    sign_in(finance, live_server.url, "finance@acme.test")
    finance.goto(f"{base}/budgets/")
    expect(finance.locator("main")).to_contain_text("No budgets yet.")
    form = finance.locator("form.budget-create")
    form.locator("input[name=name]").fill(f"Plan {FY}")
    form.locator("select[name=entity]").select_option(str(books.usd.pk))
    form.locator("input[name=fiscal_year]").fill(str(FY))
    shot(finance, "1-new")
    form.locator("button[type=submit]").click()
    expect(finance).to_have_url(re.compile(r"/budgets/versions/\d+/$"))
    version_pk = int(re.search(r"/versions/(\d+)/", finance.url)[1])
    expect(finance.locator(".messages")).to_contain_text(f"Created Plan {FY} for FY{FY}")
    expect(finance.locator("h1 .budget-status")).to_have_text("Draft")

    wanted = {(books.rent.pk, books.ops.pk): RENT, (books.software.pk, books.ops.pk): SOFTWARE,
              (books.revenue.pk, books.sales.pk): REVENUE}
    add_row = finance.locator("form.add-row")
    for account_id, cc_id in wanted:
        add_row.locator("select[name=account]").select_option(str(account_id))
        add_row.locator("select[name=cost_center]").select_option(str(cc_id))
        add_row.locator("button").click()
        expect(finance.locator(f"#grid tr.grid-row[data-account='{account_id}'][data-cost-center='{cc_id}']")
               ).to_have_count(1)
    rows = finance.locator("#grid tr.grid-row")
    expect(rows).to_have_count(3)
    # The spreadsheet holds the rows in the order the grid shows them.
    order = [(int(r.get_attribute("data-account")), int(r.get_attribute("data-cost-center"))) for r in rows.all()]
    block = "".join("\t".join(wanted[key]) + "\r\n" for key in order)
    first = rows.first.locator("input[data-month='1']")
    first.click()
    finance.evaluate("""([el, text]) => {
        const data = new DataTransfer(); data.setData("text/plain", text);
        el.dispatchEvent(new ClipboardEvent("paste", {clipboardData: data, bubbles: true, cancelable: true}));
    }""", [first.element_handle(), block])
    expect(finance.locator(".grid-message")).to_have_text("Pasted 36 cells: 36 new, 0 changed, 0 cleared.")
    with tenant_context(org):
        stored = {(line.account_id, line.cost_center_id, line.period.number): line.amount
                  for line in BudgetLine.objects.filter(version_id=version_pk).select_related("period")}
    assert stored == {(a, c, n): amount(text) for (a, c), months in wanted.items()
                      for n, text in enumerate(months, start=1)}
    software = finance.locator(f"#row-{books.software.pk}-{books.ops.pk}")
    expect(software.locator("input[data-month='3']")).to_have_value("2,250.00")
    expect(software.locator("td.total")).to_have_text("29,500.00")
    totals = finance.locator("#grid-totals tr")
    expect(totals).to_have_count(3)
    expect(totals.nth(0)).to_contain_text("Total revenue · 1 row")
    expect(totals.nth(0).locator("td.total")).to_have_text("558,000.00")
    expect(totals.nth(1)).to_contain_text("Total expenses · 2 rows")
    expect(totals.nth(1).locator("td.total")).to_have_text("179,500.00")
    expect(totals.nth(2)).to_contain_text("Net result")
    expect(totals.nth(2).locator("td.total")).to_have_text("378,500.00")
    expect(totals.nth(1).locator("td.num").nth(M - 1)).to_have_text(
        money(amount(RENT[M - 1]) + amount(SOFTWARE[M - 1])))
    shot(finance, "2-pasted")
    finance.get_by_role("button", name="Submit for approval").click()
    expect(finance.locator("h1 .budget-status")).to_have_text("Submitted")
    expect(finance.locator("#grid input[data-month]")).to_have_count(0)  # submitted: read-only

    # 2. The admin approves it; it shows approved and read-only. ---------------------------------
    admin = open_page(browser, errors)
    sign_in(admin, live_server.url, "admin@acme.test")
    admin.goto(f"{base}/budgets/")
    listed = admin.locator("table.budget-list tbody tr", has_text=f"Plan {FY}")
    expect(listed.locator(".budget-status")).to_have_text("Submitted")
    listed.get_by_role("link", name="Open grid").click()
    expect(admin).to_have_url(re.compile(rf"/budgets/versions/{version_pk}/$"))
    admin.get_by_role("button", name="Approve").click()
    expect(admin.locator(".messages")).to_contain_text(f"Plan {FY} v1 approved.")
    expect(admin.locator("h1 .budget-status")).to_have_text("Approved")
    expect(admin.locator(".read-only-note")).to_have_text(
        "This version is approved: read-only. Changing it means a new revision.")
    expect(admin.locator("#grid input")).to_have_count(0)
    expect(admin.locator("form.add-row")).to_have_count(0)
    expect(admin.locator(f"#row-{books.software.pk}-{books.ops.pk} td.total")).to_have_text("29,500.00")
    shot(admin, "3-approved")

    # The alert rule (its editor is being built elsewhere): expense lines beyond 110 % consumed
    # in the month, to the directors.
    with tenant_context(org):
        budget = Budget.objects.get(name=f"Plan {FY}")
        rule = AlertRule.objects.create(tenant=org, name="Opex watch", budget=budget, recipient_roles=["director"])
        AlertThreshold.objects.create(tenant=org, rule=rule, kind=ThresholdKind.CONSUMED_PCT, pct=Decimal("110"))

    # 3. Finance uploads the month's actuals; a real worker imports them and sends the alert. ---
    csv_path = tmp_path / f"gl-{TODAY:%Y-%m}.csv"
    csv_path.write_bytes(gl_csv())
    finance.goto(f"{base}/ledger/imports/")
    finance.set_input_files("form.import-upload input[name=file]", str(csv_path))
    finance.locator("form.import-upload button[type=submit]").click()
    expect(finance).to_have_url(re.compile(r"/ledger/imports/\d+/$"))
    expect(finance.locator("#import-status .badge")).to_have_text("Succeeded", timeout=30_000)
    expect(finance.locator("#import-status")).to_contain_text("Entries created")
    facts = finance.locator("#import-status dl.facts dd")
    expect(facts.nth(0)).to_have_text("8")
    expect(facts.nth(1)).to_have_text("4")
    shot(finance, "4-imported")

    assert len(inbox.wait(1, timeout=30)) == 1, log.read_text(errors="replace")[-3000:]
    message = inbox.messages[0]
    month_name = TODAY.strftime("%B %Y")
    assert message["To"] == "director@acme.test"
    assert message["Subject"] == f"[Acme] 1 budget line off plan: Opex watch, {month_name}"
    text = message.get_payload()[0].get_payload(decode=True).decode()
    budget_software = amount(SOFTWARE[M - 1])
    actual_software = sum(ACTUAL_SOFTWARE)
    consumed = (actual_software / budget_software * 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    over = actual_software - budget_software
    breach = [f"- Opex watch · 6200 Software · OPS: actual {money(actual_software)}, budget {money(budget_software)}, "
              f"variance {money(over)} ({pct(over, budget_software)} %), {consumed} % of budget consumed",
              f"  Basis: month to date through {TODAY.day} {month_name}"
              if TODAY.day < calendar.monthrange(TODAY.year, TODAY.month)[1] else f"  Basis: {month_name}",
              "  Threshold: 110 % of budget consumed"]
    lines = text.splitlines()
    assert lines[0] == f"1 budget line off plan for Acme, {month_name} (amounts in USD, natural sign):"
    journal_link = next(line.removeprefix("  Journal lines: ") for line in lines if line.startswith("  Journal lines: "))
    link = next(line.removeprefix("Budget vs actual: ") for line in lines if line.startswith("Budget vs actual: "))
    assert link.startswith(f"{live_server.url}/o/acme/budgets/versions/{version_pk}/variance/")

    # 4. The director opens budget vs actual, reads one line exactly, and drills down. ---------
    director = open_page(browser, errors)
    sign_in(director, live_server.url, "director@acme.test")
    director.goto(f"{base}/budgets/")
    director.locator("table.budget-list").get_by_role("link", name="Open grid").click()
    expect(director.locator("#grid input")).to_have_count(0)
    director.get_by_role("link", name="Budget vs actual").click()
    expect(director).to_have_url(re.compile(rf"/versions/{version_pk}/variance/"))
    expect(director.locator("#variance-table .card-head")).to_contain_text(TODAY.strftime("%b %Y"))
    table = director.locator("table.variance-table tbody")
    software_row = table.locator("tr", has_text="6200 Software").filter(has_text="OPS")
    rent_row = table.locator("tr", has_text="6100 Rent").filter(has_text="OPS")
    expect(table.locator("tr")).to_have_count(3)
    # This month is running: each line is compared with its budget paced to today (the whole
    # budget on the month's last day).
    paced_software = paced(budget_software)
    variance = actual_software - paced_software
    assert cells(software_row)[:4] == [money(actual_software), money(paced_software), money(variance),
                                       f"{pct(variance, paced_software)} %"]
    expect(software_row).to_have_class(re.compile(r"\bunfavourable\b"))
    budget_rent = paced(amount(RENT[M - 1]))
    assert cells(rent_row)[:4] == [money(ACTUAL_RENT), money(budget_rent), money(ACTUAL_RENT - budget_rent),
                                   f"{pct(ACTUAL_RENT - budget_rent, budget_rent)} %"]
    expect(rent_row).to_have_class(re.compile(r"(^|\s)favourable\b" if ACTUAL_RENT <= budget_rent
                                              else r"\bunfavourable\b"))
    shot(director, "5-variance")

    software_row.locator("td.num a").first.click()
    expect(director).to_have_url(re.compile(r"/o/acme/ledger/\?"))
    journal = director.locator("table.journal-lines tbody tr")
    expect(journal).to_have_count(2)
    debits = [amount(t) if t.strip() else Decimal(0) for t in journal.locator("td.num:nth-of-type(7)").all_inner_texts()]
    credits = [amount(t) if t.strip() else Decimal(0) for t in journal.locator("td.num:nth-of-type(8)").all_inner_texts()]
    assert sorted(debits) == sorted(ACTUAL_SOFTWARE) and credits == [Decimal(0), Decimal(0)]
    assert sum(debits) - sum(credits) == actual_software
    expect(director.locator(".journal-totals")).to_contain_text(
        f"2 lines · net {money(actual_software)} USD (debit − credit) · {money(actual_software)} in the account's natural sign")
    for row in journal.all():
        expect(row).to_contain_text("6200 Software")
        expect(row).to_contain_text("OPS")
    shot(director, "6-drilldown")

    # The e-mail's link opens the same report for the alert's month.
    director.goto(link)
    expect(director.locator("h1")).to_contain_text(f"Budget vs actual Plan {FY} v1")
    expect(director.locator("#variance-table .card-head")).to_contain_text(TODAY.strftime("%b %Y"))
    emailed = director.locator("table.variance-table tbody tr", has_text="6200 Software").filter(has_text="OPS")
    assert cells(emailed)[:3] == [money(actual_software), money(paced_software), money(variance)]
    shot(director, "7-from-email")
    director.goto(journal_link)  # the breach's own drill-down: the journal lines behind its actual
    expect(director.locator("table.journal-lines tbody tr")).to_have_count(2)
    expect(director.locator(".journal-totals")).to_contain_text(f"2 lines · net {money(actual_software)} USD")

    deadline = time.monotonic() + 10  # the worker marks the delivery sent after the SMTP conversation
    while time.monotonic() < deadline:
        with tenant_context(org):
            deliveries = list(Delivery.objects.values_list("recipient", "status"))
        if deliveries == [("director@acme.test", "sent")]:
            break
        time.sleep(0.2)
    assert deliveries == [("director@acme.test", "sent")]

    # 5. The director acknowledges the alert in the inbox, then, on a phone, asks for the digest.
    director.goto(f"{base}/budgets/alerts/")
    director.locator("table.alert-table tbody tr", has_text="6200 Software").get_by_role(
        "button", name="Acknowledge").click()
    expect(director.locator("ul.messages")).to_contain_text("acknowledged")
    director.goto(f"{base}/budgets/alerts/?status=acknowledged")
    expect(director.locator("table.alert-table tbody tr", has_text="6200 Software")).to_contain_text(
        "Acknowledged by director@acme.test")
    shot(director, "8-acknowledged")
    director.set_viewport_size({"width": 390, "height": 844})
    director.goto(f"{base}/notifications/")
    director.get_by_label("Daily digest").check()
    director.get_by_role("button", name="Save").click()
    expect(director.locator("ul.messages")).to_contain_text(
        "E-mails to director@acme.test. Variance alerts: daily digest.")
    shot(director, "9-my-emails-phone")
    for other in (admin, director):
        other.context.close()
    assert page.console_errors == []
    # The breach table of the text part, checked last so that the journey above runs whatever it says.
    assert [line for line in lines if line.startswith(("- ", "  Basis", "  Threshold"))] == breach, text
