"""Fixtures of the browser tests: one headless Chromium for the session, and per test a
live server of the profile's app (uvicorn on a real port) with that browser pointed at it.

A test takes `browser` (signed out, cookies cleared), the `client` (the same app through
TestClient, for set-up through the API) and `outbox`. What a person does in the browser
(sign in, press, send a form) is in steps.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from selenium import webdriver

from infra.bootstrap import Container
from infra.settings import Settings
from tests.browser.harness import Browser, start_chromium
from tests.integration.conftest import cluster_purchase_worker, metering, notifier
from tests.sdk_support import live_server, live_settings, unused_port

# The cluster's workers the pages need (the saga for purchases, metering for spend).
__all__ = ["cluster_purchase_worker", "metering", "notifier"]


@pytest.fixture(scope="session")
def chromium() -> Iterator[webdriver.Chrome]:
    driver = start_chromium()
    yield driver
    driver.quit()


@pytest.fixture
def port() -> int:
    return unused_port()


@pytest.fixture
def settings(settings: Settings, profile: str, request: pytest.FixtureRequest,
             port: int) -> Settings:  # fmt: skip
    """Either profile with inference, jobs, the saga and metering, links to the live port."""
    return live_settings(settings, profile, request, port)


@pytest.fixture
def site(container: Container, port: int) -> Iterator[str]:
    with live_server(container, port) as base_url:
        yield base_url


@pytest.fixture
def browser(
    chromium: webdriver.Chrome, site: str, tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
) -> Iterator[Browser]:  # fmt: skip
    name = re.sub(r"[^a-zA-Z0-9_.-]+", "-", request.node.name)
    chromium.get(site + "/static/site.css")  # cookies are per host: clear 127.0.0.1's
    chromium.delete_all_cookies()
    browser = Browser(chromium, site, tmp_path_factory.mktemp("screens"), name)
    browser.at_desktop_width()
    yield browser
    chromium.delete_all_cookies()
