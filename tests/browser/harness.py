"""A real headless Chromium (Debian's, driven by Selenium) looking at a live server.

`Browser.open(path)` loads a page and saves its screenshot; `check_accessible()` runs the
vendored axe-core on the page in view; `page_bytes()` is what the first load transferred.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
AXE = Path(__file__).parent / "vendor" / "axe.min.js"
PHONE = (390, 844)
DESKTOP = (1280, 900)
MAX_PAGE_BYTES = 200 * 1024


def start_chromium() -> webdriver.Chrome:
    if not CHROMIUM.exists() or not CHROMEDRIVER.exists():
        raise RuntimeError(
            "chromium is missing: `python -m infra.services up chromium` installs it "
            "(Debian's chromium and chromium-driver)"
        )
    options = Options()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--disable-gpu", f"--window-size={DESKTOP[0]},{DESKTOP[1]}"):  # fmt: skip
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    return driver


class Browser:
    def __init__(self, driver: webdriver.Chrome, base_url: str, shots: Path, name: str) -> None:
        self.driver, self.base_url, self.shots, self.name = driver, base_url, shots, name
        self.shots.mkdir(parents=True, exist_ok=True)
        self._count = 0

    def open(self, path: str) -> None:
        self.driver.get(self.base_url + path)
        self.screenshot()

    @property
    def path(self) -> str:
        url: str = self.driver.current_url
        return url.removeprefix(self.base_url)

    def screenshot(self, label: str = "") -> Path:
        """This view saved as NN-<path or label>.png, and copied to $AIMARKET_SCREENSHOTS."""
        self._count += 1
        name = re.sub(r"[^a-zA-Z0-9]+", "-", label or self.path.split("?")[0]).strip("-")
        target = self.shots / f"{self._count:02d}-{name or 'home'}.png"
        self.driver.save_screenshot(str(target))
        copies = os.environ.get("AIMARKET_SCREENSHOTS")
        if copies:
            folder = Path(copies) / self.name
            folder.mkdir(parents=True, exist_ok=True)
            shutil.copy(target, folder / target.name)
        return target

    def find(self, css: str) -> WebElement:
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def find_all(self, css: str) -> list[WebElement]:
        return list(self.driver.find_elements(By.CSS_SELECTOR, css))

    def text(self, css: str = "main") -> str:
        return str(self.find(css).text)

    def fill(self, form: str, values: dict[str, str]) -> None:
        """Type into the named fields of the form matched by `form`, then submit it."""
        for name, value in values.items():
            field = self.find(f'{form} [name="{name}"]')
            if field.get_attribute("type") in ("radio", "checkbox"):
                self.find(f'{form} [name="{name}"][value="{value}"]').click()
            elif field.tag_name == "select":
                self.find(f'{form} [name="{name}"] option[value="{value}"]').click()
            else:
                field.clear()
                field.send_keys(value)
        self.find(f'{form} [type="submit"]').click()
        self.screenshot()

    def script(self, source: str, *args: Any) -> Any:
        return self.driver.execute_script(source, *args)

    def page_bytes(self) -> int:
        """Bytes the current page's first load transferred (document and resources)."""
        return int(self.script(
            "return performance.getEntriesByType('navigation').concat("
            "performance.getEntriesByType('resource'))"
            ".reduce((sum, e) => sum + (e.transferSize || e.encodedBodySize || 0), 0);"
        ))  # fmt: skip

    def check_accessible(self) -> None:
        """axe-core on this page: no serious or critical violation."""
        self.script(AXE.read_text())
        result = self.driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "axe.run(document, {resultTypes: ['violations']})"
            ".then(r => done(r.violations.map(v => [v.impact, v.id, v.help,"
            " v.nodes.map(n => n.target.join(' ')).slice(0, 3)])))"
            ".catch(e => done([['critical', 'axe-error', String(e), []]]));"
        )
        bad = [v for v in result if v[0] in ("serious", "critical")]
        assert not bad, f"accessibility violations on {self.path}: {bad}"

    def at_phone_width(self) -> None:
        self.driver.set_window_size(*PHONE)

    def at_desktop_width(self) -> None:
        self.driver.set_window_size(*DESKTOP)

    def fits_width(self) -> bool:
        """No sideways scrolling of the page itself."""
        return bool(self.script(
            "return document.documentElement.scrollWidth <= window.innerWidth + 1;"
        ))  # fmt: skip

    def cookie(self, name: str) -> str | None:
        found = self.driver.get_cookie(name)
        return None if found is None else str(found["value"])


def wait_for(browser: Browser, css: str, timeout_s: float = 30) -> WebElement:
    """The element once it is shown (after a fetch, say)."""
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.wait import WebDriverWait

    located = expected_conditions.visibility_of_element_located((By.CSS_SELECTOR, css))
    element: WebElement = WebDriverWait(browser.driver, timeout_s).until(located)
    return element


def tab_to(browser: Browser, name: str, presses: int = 20) -> WebElement:
    """Press Tab until the field named `name` has the focus, as a keyboard user would."""
    from selenium.webdriver.common.keys import Keys

    for _ in range(presses):
        focused: WebElement = browser.driver.switch_to.active_element
        if focused.get_attribute("name") == name:
            return focused
        focused.send_keys(Keys.TAB)
    raise AssertionError(f"Tab never reached the field {name!r}")
