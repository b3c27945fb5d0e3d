"""Chromium and its WebDriver from Debian's packages, for the browser tests.

Not a server: "up" installs the two packages when missing and has nothing to start; the
tests start a headless browser of their own through chromedriver.
"""

from __future__ import annotations

from pathlib import Path

from infra.services import installers
from infra.services.base import Progress, Service

BROWSER = Path("/usr/bin/chromium")
DRIVER = Path("/usr/bin/chromedriver")
PACKAGES = ["chromium", "chromium-driver"]


class Chromium(Service):
    name = "chromium"
    default_port = 0  # none: the tests start their browser on ports of its choosing

    def required_tools(self) -> dict[str, str]:
        if self.is_installed():
            return {}
        return {"apt-get": "Chromium comes from Debian's chromium and chromium-driver (as root)"}

    def is_installed(self) -> bool:
        return BROWSER.exists() and DRIVER.exists()

    def install(self, progress: Progress) -> None:
        if not self.is_installed():
            installers.apt_install(PACKAGES, progress, self.dir / "apt.log")

    def start(self) -> None:
        """Nothing to start."""

    def is_ready(self) -> bool:
        return self.is_installed()

    def stop(self) -> None:
        """Nothing runs."""

    def env(self) -> dict[str, str]:
        return {
            "AIMARKET_CHROMIUM": str(BROWSER),
            "AIMARKET_CHROMEDRIVER": str(DRIVER),
        }
