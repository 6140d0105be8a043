"""Helpers of the end-to-end tests (fixtures are in conftest.py): signing in, screenshots."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import expect

from tests.builders import PASSWORD

SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


def sign_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/o/acme/$"))


def shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"e2e-budget-{name}.png"), full_page=True)
