"""The dashboard in a real browser (headless Chromium) on demo data: it signs in through the
login page, draws the chart under the strict CSP, swaps the body with htmx when the entity or
month changes, and leaves screenshots in artifacts/screenshots/ for people to look at."""

from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import pytest

from finops.demo import orgs as demo
from tests.builders import PASSWORD, member

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


@pytest.fixture
def in_browser():
    """Run a scenario `fn(page, problems)` in headless Chromium, on a thread of its own: Playwright's
    sync API keeps an event loop (and its own context) on the thread that drives it, which must
    not be the thread whose database connection the test and its teardown use."""
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(max_workers=1) as pool:
        playwright = pool.submit(lambda: sync_playwright().start()).result()
        browser = pool.submit(lambda: playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                                 args=ARGS)).result()

        def run(scenario):
            def go():
                context = browser.new_context(viewport={"width": 1440, "height": 960}, device_scale_factor=1)
                page = context.new_page()
                problems = []
                page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
                page.on("pageerror", lambda e: problems.append(str(e)))
                page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None)
                try:
                    scenario(page, problems)
                finally:
                    context.close()
            return pool.submit(go).result()

        yield run
        pool.submit(lambda: (browser.close(), playwright.stop())).result()


def sign_in(page, base, email, password):
    page.goto(f"{base}/login/")
    page.screenshot(path=str(SHOTS / "login.png"))
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


CHART_DRAWN = "() => window.Chart && Chart.getChart(document.querySelector('canvas.trend-chart'))"


def test_a_director_sees_the_dashboard_with_its_chart_and_switches_entity_and_month(live_server, in_browser):
    demo.demo_seed(slugs=["acme"], today=date(2026, 11, 27))

    def scenario(page, problems):
        sign_in(page, live_server.url, "director@acme.example", demo.DEMO_PASSWORD)
        page.wait_for_url(f"{live_server.url}/o/acme/")
        page.wait_for_function(CHART_DRAWN)
        page.wait_for_timeout(600)  # let the chart's entry animation finish
        assert page.locator("h1").first.inner_text() == "November 2026"
        assert page.locator(".kpi").count() == 3
        page.screenshot(path=str(SHOTS / "dashboard.png"), full_page=True)

        # One entity, through htmx: the body is swapped, the URL follows, the chart is redrawn.
        entity_value = page.locator("#dash-entity option").nth(2).get_attribute("value")
        page.select_option("#dash-entity", entity_value)
        page.wait_for_url(f"**/o/acme/?entity={entity_value}**")
        page.wait_for_function(CHART_DRAWN)
        assert "Consolidated" not in page.locator(".page-head .subtitle").inner_text()

        page.click("a[aria-label='Previous month']")
        page.wait_for_url("**month=2026-10**")
        page.wait_for_function("() => document.querySelector('h1').textContent.includes('October 2026')")
        page.wait_for_function(CHART_DRAWN)
        page.wait_for_timeout(600)
        page.screenshot(path=str(SHOTS / "dashboard-entity.png"), full_page=True)
        page.set_viewport_size({"width": 1280, "height": 800})  # a laptop
        page.wait_for_timeout(400)
        page.screenshot(path=str(SHOTS / "dashboard-laptop.png"))
        page.set_viewport_size({"width": 1024, "height": 768})
        page.wait_for_timeout(400)
        page.screenshot(path=str(SHOTS / "dashboard-1024.png"), full_page=True)

        page.goto(f"{live_server.url}/o/acme/audit/")
        page.screenshot(path=str(SHOTS / "audit.png"))
        assert problems == []  # no CSP violation, no script error, no missing file

    in_browser(scenario)


def test_an_admin_manages_members_and_settings_in_the_browser(live_server, in_browser, org):
    def scenario(page, problems):
        sign_in(page, live_server.url, "admin@acme.test", PASSWORD)
        page.wait_for_url(f"{live_server.url}/o/acme/")
        page.screenshot(path=str(SHOTS / "dashboard-empty.png"))

        page.goto(f"{live_server.url}/o/acme/members/")
        row = page.locator("tr:has-text('viewer@acme.test')")
        row.locator("select").select_option("finance")
        row.locator("button:has-text('Change')").click()
        page.wait_for_selector(".msg-success")
        assert "viewer@acme.test is now finance." in page.locator(".messages").inner_text()
        page.fill("input[name=email]", "not-an-address")
        page.click("button:has-text('Send invitation')")
        page.wait_for_selector(".errorlist")
        page.screenshot(path=str(SHOTS / "members-admin.png"), full_page=True)

        page.goto(f"{live_server.url}/o/acme/settings/")
        page.fill("input[name=name]", "Acme Group")
        page.click("button:has-text('Save settings')")
        page.wait_for_selector(".msg-success")
        assert page.locator(".org-name").first.inner_text().startswith("Acme Group")
        page.screenshot(path=str(SHOTS / "settings.png"), full_page=True)
        assert problems == []

    in_browser(scenario)
    assert member(org, user__email="viewer@acme.test").role == "finance"


def test_a_newcomer_joins_through_the_invitation_link_in_the_browser(live_server, in_browser, org, users):
    from finops.tenancy import services as tenancy

    _, token = tenancy.invitation_create(tenant=org, actor=users["admin"], email="newcomer@example.com", role="director")

    def scenario(page, problems):
        page.goto(f"{live_server.url}/invite/{token}/")
        assert "Join Acme" in page.locator("h1").inner_text()
        page.fill("input[name=password1]", "short")
        page.fill("input[name=password2]", "short")
        page.click("button[type=submit]")
        page.wait_for_selector(".errorlist")
        page.screenshot(path=str(SHOTS / "invitation-error.png"), full_page=True)
        page.fill("input[name=password1]", "a perfectly fine passphrase")
        page.fill("input[name=password2]", "a perfectly fine passphrase")
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server.url}/o/acme/")
        assert "Welcome to Acme." in page.locator(".messages").inner_text()
        page.goto(f"{live_server.url}/password-reset/")
        page.screenshot(path=str(SHOTS / "password-reset.png"))
        assert problems == []

    in_browser(scenario)
    assert member(org, user__email="newcomer@example.com").role == "director"
