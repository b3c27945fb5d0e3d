"""A consumer finds a published model by search and facets, opens its page, calls it in
the playground with their session, then makes, rotates and revokes an API key: in
Chromium on both profiles."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import numpy as np
from fastapi.testclient import TestClient

from infra.bootstrap import Container
from tests.browser.harness import MAX_PAGE_BYTES, Browser, wait_for
from tests.browser.steps import sign_in
from tests.inference_support import (
    affine_model,
    create_model,
    run_directly,
    upload_and_publish,
    wait_deployed,
)
from tests.review_support import used
from tests.support import Account, MovableClock, verified_account

X = [[1.0, 2.0, 3.0, 4.0]]


def published_model(
    client: TestClient, container: Container, publisher: Account, word: str, **more: object
) -> str:
    details = {
        "name": f"Affine {word}", "description": f"Adds one after a matrix: {word}.",
        "task": "tabular-regression", "framework": "onnx", "license": "mit",
        "tags": ["affine", word], "pricing": {"currency": "EUR", "free_requests_per_month": 100,
        "price_per_request": 2}, **more,
    }  # fmt: skip
    model_id = create_model(client, publisher, **details)
    upload_and_publish(client, publisher, model_id, affine_model())
    assert wait_deployed(container, model_id) == "deployed"
    return model_id


def search_until_found(browser: Browser, path: str, name: str) -> None:
    """The search index catches up with the publish shortly after (the cluster's lazily)."""
    deadline = time.monotonic() + 30
    browser.open(path)
    while name not in browser.text("main"):
        assert time.monotonic() < deadline, browser.text("main")
        time.sleep(0.5)
        browser.open(path)


def test_find_a_model_call_it_in_the_playground_and_manage_keys(
    browser: Browser, client: TestClient, container: Container, outbox: Path
) -> None:
    word = f"zq{uuid.uuid4().hex[:8]}"
    model_id = published_model(
        client, container, verified_account(client, outbox, "publisher"), word
    )
    consumer = verified_account(client, outbox)
    sign_in(browser, consumer.email)

    search_until_found(browser, f"/models?q={word}", f"Affine {word}")
    assert browser.find("#results .hl em").text.lower() == word
    assert browser.page_bytes() < MAX_PAGE_BYTES
    browser.check_accessible()
    browser.find('input[name="task"][value="tabular-regression"]').click()
    browser.find("#catalogue aside button[type=submit]").click()
    browser.screenshot("filtered")
    assert "task=tabular-regression" in browser.path and f"Affine {word}" in browser.text()
    browser.open("/models")
    browser.find("#q").send_keys(word)  # results follow the typing, the address too
    wait_for(browser, f'#results a[href="/models/{model_id}"]')
    assert wait_for(browser, "#results .hl em").text.lower() == word
    assert f"q={word}" in browser.path
    browser.screenshot("typed")
    browser.find('nav[aria-label="Sort"] a[href*="sort=recent"]').click()
    assert "sort=recent" in browser.path and f"Affine {word}" in browser.text()

    browser.find(f'a[href="/models/{model_id}"]').click()
    browser.screenshot("model")
    assert "Playground" in browser.text() and "1.0.0" in browser.text()
    assert browser.page_bytes() < MAX_PAGE_BYTES
    browser.check_accessible()
    field = browser.find("#playground textarea")
    field.clear()
    field.send_keys(json.dumps(X))
    browser.find("#playground button[type=submit]").click()
    out = wait_for(browser, "#play-out")
    browser.screenshot("played")
    expected = run_directly(affine_model(), np.array(X, dtype=np.float32))
    assert np.allclose(np.array(json.loads(out.text)["y"]), expected, atol=1e-4)
    assert "EUR" in browser.text("#play-cost") and "ms" in browser.text("#play-ms")

    browser.at_phone_width()
    browser.open(f"/models/{model_id}")
    assert browser.fits_width()
    browser.at_desktop_width()

    browser.open("/account/keys")
    browser.check_accessible()
    browser.fill("#create-key", {"name": "laptop"})
    key = browser.text("#new-key")
    assert key.startswith("aimpk_") and browser.find('[data-copy="new-key"]')
    browser.open("/account/keys")
    assert key not in browser.driver.page_source  # shown once only
    browser.find('button[aria-label="Rotate laptop"]').click()
    rotated = browser.text("#new-key")
    assert rotated.startswith("aimpk_") and rotated != key
    browser.find('button[aria-label="Revoke laptop"]').click()
    browser.screenshot("revoked")
    assert "No keys yet." in browser.text()


def test_a_gated_model_is_asked_for_with_the_answers_to_its_questions(
    browser: Browser, client: TestClient, container: Container, outbox: Path
) -> None:
    publisher = verified_account(client, outbox, "publisher")
    questions = ["What will you use it for?", "Which organisation are you with?"]
    model_id = published_model(
        client, container, publisher, f"zq{uuid.uuid4().hex[:8]}", gated=True,
        access_questions=questions,
    )  # fmt: skip
    sign_in(browser, verified_account(client, outbox).email)
    browser.open(f"/models/{model_id}")
    browser.find(f'a[href="/models/{model_id}/access"]').click()
    browser.screenshot("access")
    assert all(q in browser.text() for q in questions)
    browser.check_accessible()
    browser.fill("main form", {"answer_0": "Research on tables", "answer_1": "A university"})
    assert "Your request is sent" in browser.text()
    asked = client.get(f"/v1/models/{model_id}/access-requests", headers=publisher.headers)
    assert asked.status_code == 200, asked.text
    (request,) = asked.json()["items"]
    assert request["answers"] == ["Research on tables", "A university"]


def test_a_user_of_the_model_reviews_it_from_its_page(
    browser: Browser, client: TestClient, container: Container, outbox: Path, clock: MovableClock
) -> None:
    publisher = verified_account(client, outbox, "publisher")
    model_id = published_model(client, container, publisher, f"zq{uuid.uuid4().hex[:8]}")
    consumer = verified_account(client, outbox)
    sign_in(browser, consumer.email)
    browser.open(f"/models/{model_id}")
    browser.fill("#review-form", {"rating": "4", "title": "Before any call", "body": "x"})
    assert "not_a_user_of_model" in browser.text()  # the error page, as the API says it
    used(container, consumer, model_id, clock)  # as the metering roll-up records a call
    browser.open(f"/models/{model_id}")
    browser.check_accessible()
    browser.fill("#review-form", {"rating": "4", "title": "Tidy numbers", "body": "Exact."})
    assert browser.path.startswith(f"/models/{model_id}")
    assert "★★★★ Tidy numbers" in browser.text()
