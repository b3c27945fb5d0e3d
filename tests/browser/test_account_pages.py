"""Account pages in a real browser: a declined test card and an accepted one, a monthly
budget, a subscription bought from the model's buy page and cancelled, the usage and
spend of the calls made under it with its chart; the publisher's earnings from the sale."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from infra.bootstrap import Container
from tests.browser.harness import Browser
from tests.browser.steps import page_is_fine, press, send, sign_in
from tests.inference_support import api_key, deployed_model, infer
from tests.pipeline import wait_until
from tests.support import verified_account

X = [[1.0, 2.0, 3.0, 4.0]]
PRICING = {
    "currency": "EUR",
    "free_requests_per_month": 0,
    "price_per_request": 5,
    "purchase_price": 4900,
    "plans": [{"name": "starter", "monthly_price": 1900, "included_requests": 1}],
}


def test_a_consumer_saves_a_card_sets_a_budget_subscribes_cancels_and_sees_spend(
    browser: Browser, client: TestClient, container: Container, outbox: Path, metering: None
) -> None:
    publisher = verified_account(client, outbox, "publisher")
    consumer = verified_account(client, outbox)
    model_id = deployed_model(client, container, publisher, pricing=PRICING)
    sign_in(browser, consumer.email)

    browser.open("/account/billing")
    assert page_is_fine(browser)
    send(browser, browser.find("#card-form"), {"card": "4000 0000 0000 0002"})
    assert "declined" in browser.text(".error").lower()
    send(browser, browser.find("#card-form"), {"card": "4242 4242 4242 4242"})
    assert "ending 4242" in browser.text("#cards")
    send(browser, browser.find("#budget-form"), {"amount": "25.00", "currency": "EUR"})
    assert "of 25.00 EUR" in browser.text(".budget-cap")

    browser.open(f"/models/{model_id}")  # the model page leads to its buy page
    press(browser, 'a[href$="/buy"]', "buy-page")
    assert browser.path == f"/models/{model_id}/buy" and page_is_fine(browser)
    press(browser, "form.plan button", "subscribed")
    assert browser.path.startswith("/account/purchases")

    def active() -> bool:
        browser.open("/account/purchases")
        return (
            "active" in browser.text("#subscriptions")
            if browser.find_all("#subscriptions")
            else False
        )

    wait_until(active, 60, "the subscription active")
    assert page_is_fine(browser)
    key = api_key(client, consumer)
    for _ in range(3):  # one included in the plan, then 5 cents each
        assert infer(client, key, model_id, {"x": X}).status_code == 200
    press(browser, "#subscriptions form button", "cancelled")
    assert "ends at the period's end" in browser.text("#subscriptions")

    def spent() -> bool:
        browser.open("/account/usage")
        return "0.10 EUR" in browser.text("#totals")

    wait_until(spent, 60, "the calls priced")
    assert len(browser.find_all("svg.chart-svg rect")) == 1
    assert "Affine" in browser.text("#usage-days")
    assert page_is_fine(browser)

    press(browser, "header form button", "signed-out")  # the publisher's side of the sale
    sign_in(browser, publisher.email)
    browser.open("/publisher/earnings")
    assert model_id[:8] in browser.text("#earnings")
    assert len(browser.find_all("svg.chart-svg rect")) == 1
    assert page_is_fine(browser)
