"""The whole journey in Chromium, on both profiles, as people would go it: a publisher signs
up from the emailed link, makes a key, creates a model, uploads it in parts, publishes it
and sees it deployed; a consumer signs up the same way, finds it by search and a facet,
calls it in the playground, saves a card, buys it, calls it again and with their key,
sees the spend and reviews it; an admin reads its audit timeline and an earlier state.

Where the cluster's read models or workers catch up later, the page is reloaded until it
shows the change, as a person would do."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from uuid import UUID

import httpx
import numpy as np
from fastapi.testclient import TestClient
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.support.wait import WebDriverWait

from domain.user import Role
from infra.bootstrap import Container
from tests.browser.harness import Browser, wait_for
from tests.browser.steps import (
    emailed_link,
    parts_sent,
    press,
    publish_offered,
    reload_until,
    send,
    sign_in,
)
from tests.inference_support import affine_model, run_directly
from tests.pipeline import wait_until
from tests.support import PASSWORD, unique_email, verified_account

PRICES = {"price_per_request": "5", "free_requests_per_month": "1", "purchase_price": "4900"}
# y = x @ W + 1 with W 4 x 256: 4 KiB of weights, so five 1 KiB parts, and a short input.
WEIGHTS = np.random.default_rng(16).standard_normal((4, 256)).astype(np.float32)
X = np.array([[1.5, -2.0, 0.25, 3.0]], dtype=np.float32)
AUDITED = ["Created", "VersionUploaded", "VersionValidated", "VersionPublished", "Deployed"]


def test_a_model_goes_from_sign_up_to_sale_to_review_to_audit(
    browser: Browser, client: TestClient, container: Container, outbox: Path,
    tmp_path: Path, metering: None,
) -> None:  # fmt: skip
    word = f"zj{uuid.uuid4().hex[:8]}"
    joins(browser, outbox, "publisher")
    artifact = tmp_path / "affine.onnx"
    artifact.write_bytes(affine_model(WEIGHTS))
    model_id = publishes(browser, word, artifact)
    press(browser, "header form button", "signed-out")
    key = joins(browser, outbox, "consumer")
    finds(browser, word, model_id)
    plays(browser, "0.00 EUR (1 unit)")  # the month's free call
    buys(browser, model_id)
    browser.open(f"/models/{model_id}")
    plays(browser, "0.05 EUR (1 unit)")
    calls_with_key(browser, model_id, key)
    sees_spend(browser, word)
    reviews(browser, model_id)
    press(browser, "header form button", "signed-out")
    audits(browser, client, container, outbox, model_id, word)


def joins(browser: Browser, outbox: Path, role: str) -> str:
    """Sign up, verify from the emailed link, sign in, make a key: the key, shown once."""
    address = unique_email(role)
    browser.open("/signup")
    browser.fill("main form", {"email": address, "password": PASSWORD, "role": role})
    assert "Check your email" in browser.text() and address in browser.text()
    browser.check_accessible()
    browser.open(emailed_link(outbox, address, browser.base_url))
    browser.fill("main form", {})  # the token is in the form already
    assert "Email verified" in browser.text()
    browser.check_accessible()
    press(browser, 'main a[href="/login"]', "login")
    browser.check_accessible()
    browser.fill("main form", {"email": address, "password": PASSWORD})
    assert "Sign out" in browser.text("header")
    browser.open("/account/keys")
    browser.fill("#create-key", {"name": "journey"})
    key = browser.text("#new-key")
    assert key.startswith("aimpk_")
    browser.check_accessible()
    browser.open("/account/keys")
    assert key not in browser.driver.page_source and "journey" in browser.text()
    return key


def publishes(browser: Browser, word: str, artifact: Path) -> str:
    """Create the model, upload it in 1 KiB parts, publish it, see it deployed: its id."""
    browser.open("/publisher/models/new")
    details = {"slug": f"affine-{word}", "name": f"Affine {word}", "task": "tabular-regression",
               "tags": f"journey, {word}", "license": "mit", **PRICES}  # fmt: skip
    send(browser, browser.find("#model-form"), details)
    model_id = browser.path.split("?")[0].split("/")[3]
    browser.find('#upload-form [name="file"]').send_keys(str(artifact))
    browser.fill("#upload-form", {"version": "1.0.0", "part_size": "1"})
    wait = WebDriverWait(browser.driver, 60)
    wait.until(lambda _: "validated" in browser.text("#upload-status"))
    browser.screenshot("upload-validated")
    size, progress = artifact.stat().st_size, browser.find("#upload-progress")
    assert progress.get_attribute("value") == progress.get_attribute("max") == str(size)
    assert parts_sent(browser) == list(range(1, -(-size // 1024) + 1))
    press(browser, "#upload-status a", "versions")
    reload_until(browser, lambda: publish_offered(browser), "the version validated")
    press(browser, "#versions form button", "published")
    reload_until(browser, lambda: browser.text("#versions .deployment") == "deployed", "deployed")
    assert browser.text("#versions .version-status") == "published"
    browser.check_accessible()
    return model_id


def finds(browser: Browser, word: str, model_id: str) -> None:
    """Search for the word, narrow by its tag, open the model: its prices shown."""
    browser.open(f"/models?q={word}")
    reload_until(browser, lambda: f"Affine {word}" in browser.text("#results"), "searchable")
    browser.find(f'#catalogue input[name="tags"][value="{word}"]').click()  # results follow

    def narrowed() -> bool:
        try:
            found = [a.text for a in browser.find_all("#results article.model h2 a")]
        except StaleElementReferenceException:  # the results were swapped as we read them
            return False
        return f"tags={word}" in browser.path and found == [f"Affine {word}"]

    wait_until(narrowed, 30, "the results narrowed to the tag")
    browser.screenshot("narrowed")
    browser.check_accessible()
    press(browser, f'#results a[href="/models/{model_id}"]', "model")
    prices = browser.text("#price-h + ul")
    assert "1 free request a month, then 0.05 EUR a request" in prices
    assert "Buy outright: 49.00 EUR" in prices


def plays(browser: Browser, cost: str) -> None:
    """Call the model from its page: the outputs onnxruntime gives, the time, the cost."""
    field = browser.find("#playground textarea")
    field.clear()
    field.send_keys(json.dumps(X.tolist()))
    browser.find("#playground button[type=submit]").click()
    out = wait_for(browser, "#play-out")
    browser.screenshot("played")
    expected = run_directly(affine_model(WEIGHTS), X)
    assert np.allclose(np.array(json.loads(out.text)["y"]), expected, atol=1e-3)
    assert browser.text("#play-cost") == cost
    assert " ms in the browser" in browser.text("#play-ms")
    browser.check_accessible()


def buys(browser: Browser, model_id: str) -> None:
    """Save a test card, buy the model outright with it, see the purchase completed."""
    browser.open("/account/billing")
    send(browser, browser.find("#card-form"), {"card": "4242 4242 4242 4242"})
    assert "ending 4242" in browser.text("#cards")
    browser.open(f"/models/{model_id}")
    press(browser, 'a[href$="/buy"]', "buy")
    assert "ending 4242" in browser.text()
    assert browser.text("#buy-outright button") == "Buy for 49.00 EUR"
    press(browser, "#buy-outright button", "bought")

    def completed() -> bool:
        return [e.text for e in browser.find_all("#purchases .purchase-state")] == ["completed"]

    reload_until(browser, completed, "the purchase completed")
    assert "49.00 EUR" in browser.text("#purchases")
    browser.check_accessible()


def calls_with_key(browser: Browser, model_id: str, key: str) -> None:
    """The key shown once works from outside the browser, billed as a paid call."""
    answer = httpx.post(f"{browser.base_url}/v1/models/{model_id}/infer", timeout=30,
                        json={"inputs": {"x": X.tolist()}}, headers={"X-API-Key": key})  # fmt: skip
    assert answer.status_code == 200, answer.text
    assert answer.json()["cost"] == {"units": 1, "amount": 5, "currency": "EUR"}


def sees_spend(browser: Browser, word: str) -> None:
    """Three calls, two past the free one, 0.05 EUR each, on the usage page."""
    browser.open("/account/usage")
    reload_until(browser, lambda: "0.10 EUR" in browser.text("#totals"), "the calls priced")
    assert browser.text("#totals").startswith("Total: 0.10 EUR from ")
    (row,) = browser.find_all("#usage-days tbody tr")
    assert row.text.split()[1:] == ["Affine", word, "3", "2", "0.10", "EUR"]


def reviews(browser: Browser, model_id: str) -> None:
    """Review the model; until metering counts the calls as use, the page says why not."""
    review = {"rating": "5", "title": "Exact sums", "body": "What onnxruntime says."}

    def reviewed() -> bool:
        browser.open(f"/models/{model_id}")
        browser.fill("#review-form", review)
        return "★★★★★ Exact sums" in browser.text()

    wait_until(reviewed, 60, "the review taken")
    assert "★ 5.0 from 1 review" in browser.text()


def audits(browser: Browser, client: TestClient, container: Container, outbox: Path,
           model_id: str, word: str) -> None:  # fmt: skip
    """An admin reads the model's events in order, its state now and at its first version."""
    admin = verified_account(client, outbox)
    container.auth.change_role(UUID(admin.id), Role.ADMIN)  # as `aimarket users set-role`
    sign_in(browser, admin.email)
    browser.open("/admin/audit")
    send(browser, browser.find("#audit-form"), {"id": model_id})
    kinds = [e.text.split()[1].rsplit(".", 1)[-1] for e in browser.find_all("#events summary")]
    assert [k for k in kinds if k in AUDITED] == AUDITED, kinds
    assert '"default_version": "1.0.0"' in browser.text("#state pre")
    press(browser, "#events li:first-child a", "state-at-v1")
    assert "at version 1" in browser.text("#state h2")
    at_first = browser.text("#state pre")
    assert f'"name": "Affine {word}"' in at_first and '"default_version": null' in at_first
    assert "1.0.0" not in at_first
    browser.check_accessible()
