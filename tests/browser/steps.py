"""What a person does in the browser, shared by the browser tests: sign in, press a
button or send a form and wait for the page it leads to, open an emailed link, reload a
page until it shows what another part of the system has caught up with, and the checks
every page should pass."""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Callable
from pathlib import Path

from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.expected_conditions import staleness_of
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.wait import WebDriverWait

from tests.browser.harness import MAX_PAGE_BYTES, Browser
from tests.pipeline import wait_until
from tests.support import PASSWORD


def sign_in(browser: Browser, email: str, password: str = PASSWORD) -> None:
    browser.open("/login")
    browser.fill("main form", {"email": email, "password": password})
    assert "Sign out" in browser.text("header"), browser.text()


def press(browser: Browser, css: str, label: str = "") -> None:
    """Click the button at `css` and wait for the page it leads to."""
    old = browser.find("html")
    browser.find(css).click()
    arrived(browser, old)
    browser.screenshot(label)


def arrived(browser: Browser, old: WebElement) -> None:
    """The page that replaced `old` has loaded."""
    wait = WebDriverWait(browser.driver, 30)
    wait.until(staleness_of(old))
    wait.until(lambda driver: driver.execute_script("return document.readyState") == "complete")


def send(browser: Browser, form: WebElement, values: dict[str, str]) -> None:
    """Type `values` into `form`, submit it and wait for the page it leads to."""
    old = browser.find("html")
    for name, value in values.items():
        field = form.find_element(By.NAME, name)
        if field.tag_name == "select":
            Select(field).select_by_value(value)
        else:
            field.clear()
            field.send_keys(value)
    form.find_element(By.CSS_SELECTOR, '[type="submit"]').click()
    arrived(browser, old)
    browser.screenshot()


def page_is_fine(browser: Browser) -> bool:
    """Small, accessible, usable at phone width."""
    assert browser.page_bytes() < MAX_PAGE_BYTES
    browser.check_accessible()
    browser.at_phone_width()
    fits = browser.fits_width()
    browser.at_desktop_width()
    return fits


def reload_until(browser: Browser, shown: Callable[[], bool], what: str, timeout_s: float = 60
                 ) -> None:  # fmt: skip
    """Reload the page in view until `shown()` holds, as a person waits for a page that
    another part of the system (the cluster's read models, say) has not caught up with."""

    def looked() -> bool:
        if shown():
            return True
        browser.driver.refresh()
        return False

    wait_until(looked, timeout_s, what)
    browser.screenshot()


def publish_offered(browser: Browser) -> bool:
    """The publisher's versions list has a Publish button."""
    return bool(browser.find_all('#versions button[type="submit"]'))


def parts_sent(browser: Browser) -> list[int]:
    """The part numbers this page's fetches asked for, in order (a failed one too)."""
    names = browser.script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
        ".filter(n => n.includes('/parts/'));"
    )
    return [int(name.rsplit("/", 1)[1]) for name in names]


def newest_email_to(outbox: Path, address: str) -> str:
    """The text of the newest email sent to `address`."""
    for path in sorted(outbox.glob("*.eml"), key=lambda p: p.stat().st_mtime, reverse=True):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if message["To"] == address:
            return str(message.get_content())
    raise AssertionError(f"no email to {address}")


def emailed_link(outbox: Path, address: str, base_url: str, page: str = "/verify") -> str:
    """The path of the link to `page` of this site (with its query) in the newest email
    to `address`."""
    link = re.escape(base_url) + "(" + re.escape(page) + r"(?:[?#]\S*)?)(?:\s|$)"
    found = re.search(link, newest_email_to(outbox, address))
    assert found, f"no link to {base_url}{page} in the email to {address}"
    return found.group(1)
