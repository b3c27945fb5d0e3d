"""Publisher pages in a real browser: create a model, upload a version in parts with a
progress bar, lose the connection mid-way and resume with only the missing parts, then
publish and see its deployment state; answer an access request and a review."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path

import numpy as np
from fastapi.testclient import TestClient
from selenium.webdriver.common.by import By
from selenium.webdriver.support.wait import WebDriverWait

from infra.bootstrap import Container
from tests.browser.harness import Browser
from tests.browser.steps import (
    page_is_fine,
    parts_sent,
    press,
    publish_offered,
    reload_until,
    send,
    sign_in,
)
from tests.inference_support import affine_model, create_model
from tests.review_support import publish, used
from tests.sdk_support import model_file
from tests.support import MovableClock, verified_account
from tests.web_support import signed_in_client

BROKEN_PART = 20  # of 65: 64 KiB of weights and the graph, in 1 KiB parts


def test_a_publisher_uploads_in_parts_resumes_after_a_drop_and_publishes(
    browser: Browser, client: TestClient, outbox: Path, tmp_path: Path
) -> None:
    publisher = verified_account(client, outbox, "publisher")
    sign_in(browser, publisher.email)
    browser.open("/publisher/models/new")
    browser.check_accessible()
    slug = f"affine-{uuid.uuid4().hex[:8]}"
    send(browser, browser.find("#model-form"), {"slug": slug, "name": "Affine from the browser",
                                 "tags": "demo, web", "price_per_request": "2"})  # fmt: skip
    assert browser.path.startswith("/publisher/models/"), browser.text()
    assert "Upload a version" in browser.text(), browser.text()
    assert page_is_fine(browser)

    assert unsigned_start(browser) == [403, "csrf_failed"]
    chrome = browser.driver
    chrome.execute_cdp_cmd("Network.enable", {})  # the connection drops at one part
    chrome.execute_cdp_cmd("Network.setBlockedURLs", {"urls": [f"*/parts/{BROKEN_PART}"]})
    artifact = model_file(tmp_path)
    parts = -(-artifact.stat().st_size // 1024)
    browser.find('#upload-form [name="file"]').send_keys(str(artifact))
    browser.fill("#upload-form", {"version": "1.0.0", "part_size": "1"})
    resume = browser.find("#upload-resume")
    WebDriverWait(chrome, 30).until(lambda _: resume.is_displayed())
    browser.screenshot("upload-interrupted")
    progress = browser.find("#upload-progress")
    assert int(progress.get_attribute("value") or 0) == (BROKEN_PART - 1) * 1024

    chrome.execute_cdp_cmd("Network.setBlockedURLs", {"urls": []})
    assert chrome.switch_to.active_element == resume  # the keyboard is where it is needed
    resume.send_keys("\n")
    WebDriverWait(chrome, 60).until(lambda _: "validated" in browser.text("#upload-status"))
    sent = parts_sent(browser)
    assert sorted(set(sent)) == list(range(1, parts + 1))
    assert [n for n in sent if n != BROKEN_PART] == sorted(set(sent) - {BROKEN_PART})  # once each
    browser.screenshot("upload-validated")

    press(browser, "#upload-status a", "versions")
    # The cluster's read model shows the validated version a moment later: reload, as a
    # person would, until its Publish button is there.
    reload_until(browser, lambda: publish_offered(browser), "the validated version listed")
    press(browser, '#versions button[type="submit"]', "published")  # Publish 1.0.0
    assert "published" in browser.text("#versions .version-status")
    assert browser.text("#versions .deployment") in ("deploying", "deployed")
    browser.open("/publisher/models")
    assert "Affine from the browser" in browser.text("#my-models")
    browser.check_accessible()


def unsigned_start(browser: Browser) -> list[object]:
    """What starting an upload answers to a fetch from the page without the CSRF header."""
    return list(
        browser.driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "fetch(document.getElementById('upload-form').action, {method: 'POST', body: '{}',"
            " headers: {'Content-Type': 'application/json', Accept: 'application/json'}})"
            ".then(r => r.json().then(b => done([r.status, b.error.code])));"
        )
    )


def test_a_publisher_approves_and_rejects_access_requests_and_replies_to_a_review(
    browser: Browser, client: TestClient, container: Container, outbox: Path,
    clock: MovableClock,
) -> None:  # fmt: skip
    publisher = verified_account(client, outbox, "publisher")
    model_id = create_model(client, publisher, gated=True, access_questions=["Who are you?"])
    publish(client, container, publisher, model_id)
    asked = {}
    for answer in ("A researcher", "A spammer"):
        consumer = verified_account(client, outbox)
        made = client.post(f"/v1/models/{model_id}/access-requests", headers=consumer.headers,
                           json={"answers": [answer]})  # fmt: skip
        assert made.status_code == 201, made.text
        asked[answer] = (consumer, made.json()["id"])
    researcher = asked["A researcher"][0]
    used(container, researcher, model_id, clock)
    review = {"version": "1.0.0", "rating": 4, "title": "Works", "body": "Quick and right."}
    wrote = client.post(f"/v1/models/{model_id}/reviews", json=review, headers=researcher.headers)
    assert wrote.status_code == 201, wrote.text

    sign_in(browser, publisher.email)
    browser.open(f"/publisher/inbox?wait_for={wrote.json()['position']}")
    assert "A researcher" in browser.text("#access-requests")
    assert page_is_fine(browser)
    for article in browser.find_all("#access-requests article"):  # the answers say which
        if "A researcher" in article.text:
            researcher_form = article.find_element(By.CSS_SELECTOR, "form.approve")
    send(browser, researcher_form, {"monthly_call_cap": "100"})
    send(browser, browser.find("#access-requests form.reject"), {"reason": "Not a fit"})
    send(browser, browser.find("#reviews form.reply"), {"body": "Thank you!"})
    assert "Thank you!" in browser.text("#reviews")
    decided = {}
    for answer, (consumer, request_id) in asked.items():
        got = client.get(f"/v1/access-requests/{request_id}", headers=consumer.headers).json()
        decided[answer] = (got["status"], got["monthly_call_cap"])
    assert decided == {"A researcher": ("approved", 100), "A spammer": ("rejected", None)}


def test_another_publishers_model_page_is_missing_and_forms_need_the_token(
    client: TestClient, outbox: Path
) -> None:
    owner = verified_account(client, outbox, "publisher")
    model_id = create_model(client, owner)  # public
    other = verified_account(client, outbox, "publisher")
    csrf = signed_in_client(client, other.email)
    assert client.get(f"/publisher/models/{model_id}").status_code == 404
    renamed = client.post(
        f"/publisher/models/{model_id}", data={"name": "Mine", "csrf_token": csrf}
    )
    assert renamed.status_code == 404, renamed.text
    unsigned = client.post("/publisher/models/new", data={"slug": "x-1", "name": "X"})
    assert unsigned.status_code == 403
    assert "csrf_failed" in unsigned.text


def test_the_pages_upload_takes_a_part_larger_than_a_json_body(
    client: TestClient, container: Container, outbox: Path
) -> None:
    """The page sends parts of the server's part size (16 MiB by default), as the API's
    clients do; the 1 MiB limit of other bodies does not hold a part back."""
    publisher = verified_account(client, outbox, "publisher")
    content = affine_model(np.ones((100_000, 3), dtype=np.float32))  # 1.2 MB
    assert len(content) > container.settings.max_body_bytes
    model_id = create_model(client, publisher)
    fetch = {"X-CSRF-Token": signed_in_client(client, publisher.email)}
    body = {"version": "1.0.0", "size": len(content),
            "sha256": hashlib.sha256(content).hexdigest()}  # fmt: skip
    started = client.post(f"/publisher/models/{model_id}/uploads", json=body, headers=fetch)
    assert started.status_code == 201, started.text
    assert started.json()["parts"] == 1
    upload = started.json()["upload_id"]
    sent = client.put(f"/publisher/uploads/{upload}/parts/1", content=content, headers=fetch)
    assert sent.status_code == 200, sent.text
    done = client.post(f"/publisher/uploads/{upload}/complete", headers=fetch)
    assert done.json()["status"] == "validated", done.text
