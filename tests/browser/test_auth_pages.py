"""Sign up, verify from the emailed token, sign in, change the password, sign out: in
Chromium on both profiles, as a person would."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from fastapi.testclient import TestClient
from selenium.webdriver.common.keys import Keys

from tests.browser.harness import MAX_PAGE_BYTES, Browser, tab_to
from tests.browser.steps import emailed_link, sign_in
from tests.support import PASSWORD, register, unique_email, verification_token

NEW_PASSWORD = "a brand new passphrase"


def test_sign_up_verify_sign_in_change_password_and_sign_out(
    browser: Browser, outbox: Path
) -> None:
    address = unique_email("web")
    browser.open("/signup")
    assert browser.page_bytes() < MAX_PAGE_BYTES
    browser.check_accessible()
    browser.fill("main form", {"email": address, "password": PASSWORD, "role": "publisher"})
    assert "Check your email" in browser.text()

    link = emailed_link(outbox, address, browser.base_url)  # the email links to the page
    assert link == "/verify?token=" + quote(verification_token(outbox, address))
    browser.open(link)
    browser.check_accessible()
    browser.fill("main form", {})
    assert "Email verified" in browser.text()

    sign_in(browser, address)
    browser.open("/account/password")
    browser.check_accessible()
    browser.fill("main form", {"current_password": "wrong one", "new_password": NEW_PASSWORD})
    assert "incorrect" in browser.text()
    browser.fill("main form", {"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert "Your password is changed" in browser.text()

    browser.find("header form button").click()
    browser.screenshot("signed-out")
    assert "Sign in" in browser.text("header")
    sign_in(browser, address, NEW_PASSWORD)


def test_a_wrong_password_is_said_on_the_form(browser: Browser) -> None:
    browser.open("/login")
    browser.fill("main form", {"email": unique_email(), "password": "not the password"})
    assert "email or password is incorrect" in browser.text()
    assert browser.cookie("aimarket_session") is None


def test_signing_in_takes_the_keyboard_alone(browser: Browser, client: TestClient) -> None:
    email = register(client)
    browser.open("/login")
    tab_to(browser, "email").send_keys(email, Keys.TAB, PASSWORD, Keys.ENTER)
    browser.screenshot("signed-in-by-keyboard")
    assert "Sign out" in browser.text("header")
