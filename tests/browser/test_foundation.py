"""The browser harness itself on both profiles: a page loads in Chromium, is small,
passes axe, fits a phone, and a person signs in and out through the forms."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.browser.harness import MAX_PAGE_BYTES, Browser
from tests.browser.steps import sign_in
from tests.support import register


def test_home_page_is_small_accessible_and_fits_a_phone(browser: Browser) -> None:
    browser.open("/")
    assert browser.page_bytes() < MAX_PAGE_BYTES
    browser.check_accessible()
    browser.at_phone_width()
    browser.open("/")
    assert browser.fits_width()


def test_a_person_signs_in_and_out(browser: Browser, client: TestClient) -> None:
    email = register(client)
    sign_in(browser, email)
    browser.find("header form button").click()
    browser.screenshot("signed-out")
    assert "Sign in" in browser.text("header")
