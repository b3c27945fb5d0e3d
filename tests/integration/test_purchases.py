"""Buying through the API on both profiles: cards, one-off purchases and plans through the
saga (the embedded runner, or `aimarket worker purchases` on Kafka), the entitlement it
gives to calls and downloads, the failures, and the refusals."""

from __future__ import annotations

from pathlib import Path
from uuid import UUID

import numpy as np
import pytest
from fastapi.testclient import TestClient

from commands.payment_ports import SubscriptionState
from domain.purchase import Purchase
from domain.subscription import Subscription, SubscriptionStatus
from infra.bootstrap import Container
from infra.settings import Settings
from tests.inference_support import (
    affine_model,
    api_key,
    code,
    create_model,
    infer,
    on_triton,
    upload_and_publish,
    wait_deployed,
)
from tests.purchase_support import (
    add_card,
    all_captures,
    buy,
    gateway,
    inject,
    refunds,
    wait_state,
)
from tests.support import Account, MovableClock, verified_account
from workers.purchases import Sweep

PRICING = {
    "currency": "EUR",
    "free_requests_per_month": 1,
    "price_per_request": 2,
    "purchase_price": 4900,
    "plans": [{"name": "pro", "monthly_price": 1500, "included_requests": 100}],
}
X = np.ones((1, 4), dtype=np.float32).tolist()


@pytest.fixture
def settings(settings: Settings, profile: str, request: pytest.FixtureRequest) -> Settings:
    return on_triton(settings, profile, request, "cluster_purchase_worker")


@pytest.fixture
def publisher(client: TestClient, outbox: Path) -> Account:
    return verified_account(client, outbox, role="publisher")


@pytest.fixture
def consumer(client: TestClient, outbox: Path) -> Account:
    return verified_account(client, outbox)


@pytest.fixture
def model_id(client: TestClient, publisher: Account) -> str:
    return create_model(client, publisher, pricing=PRICING)


def test_a_one_off_purchase_completes_and_the_model_is_then_callable_and_downloadable(
    client: TestClient, container: Container, publisher: Account, consumer: Account
) -> None:
    model_id = create_model(client, publisher, pricing=PRICING)
    upload_and_publish(client, publisher, model_id, affine_model())
    assert wait_deployed(container, model_id) == "deployed"
    key = api_key(client, consumer)
    assert infer(client, key, model_id, {"x": X}).status_code == 200  # the free tier
    assert code(infer(client, key, model_id, {"x": X})) == "payment_required"
    url = f"/v1/models/{model_id}/versions/1.0.0/download-url"
    assert code(client.get(url, headers=consumer.headers)) == "purchase_required"

    assert add_card(client, consumer).status_code == 201
    before = all_captures(container)
    accepted = buy(client, consumer, model_id)
    assert accepted.status_code == 202, accepted.text
    body = accepted.json()
    assert (body["state"], body["kind"], body["amount"]) == (
        "requested", "one_off", {"amount": 4900, "currency": "EUR"},
    )  # fmt: skip
    assert body["links"]["self"] == f"/v1/purchases/{body['id']}"
    done = wait_state(client, consumer, body["id"])
    assert done["state"] == "completed", done
    steps = [step["event"] for step in done["history"]]
    assert steps == ["Requested", "PaymentCaptured", "AccessGranted", "Completed"]
    assert all_captures(container) == before + 1

    paid = infer(client, key, model_id, {"x": X})
    assert paid.status_code == 200, paid.text
    assert paid.json()["cost"] == {"units": 1, "amount": 2, "currency": "EUR"}
    assert client.get(url, headers=consumer.headers).status_code == 200


def test_a_plan_purchase_activates_the_consumers_subscription(
    client: TestClient, container: Container, consumer: Account, model_id: str
) -> None:
    add_card(client, consumer, "4242 4242 4242 4242")
    accepted = buy(client, consumer, model_id, plan="pro")
    assert accepted.status_code == 202, accepted.text
    assert accepted.json()["kind"] == "subscription"
    assert wait_state(client, consumer, accepted.json()["id"])["state"] == "completed"
    held = container.app.load(
        Subscription, Subscription.create_id(UUID(consumer.id), UUID(model_id))
    )
    assert held.status == SubscriptionStatus.ACTIVE and held.plan["name"] == "pro"
    again = buy(client, consumer, model_id, plan="pro")
    assert (again.status_code, code(again)) == (409, "already_subscribed")


def test_declined_cards_are_refused_or_fail_the_purchase_and_give_no_access(
    client: TestClient, container: Container, consumer: Account, model_id: str
) -> None:
    declined = add_card(client, consumer, "4000 0000 0000 0002")
    assert (declined.status_code, code(declined)) == (402, "card_declined")
    unknown = add_card(client, consumer, "1234 5678")
    assert (unknown.status_code, code(unknown)) == (422, "invalid_payment_method")
    assert add_card(client, consumer, "4000000000000341").status_code == 201
    cards = client.get("/v1/billing/payment-methods", headers=consumer.headers).json()
    assert [(c["brand"], c["last4"], c["default"]) for c in cards] == [("visa", "0341", True)]
    assert "4000000000000341" not in str(cards)
    before = all_captures(container)
    accepted = buy(client, consumer, model_id)
    failed = wait_state(client, consumer, accepted.json()["id"])
    assert failed["state"] == "payment_failed" and failed["failure"]["code"] == "card_declined"
    assert all_captures(container) == before
    paid = container.inference.paid_access
    assert paid.has_paid_access(UUID(consumer.id), UUID(model_id)) is False


def test_a_provider_timeout_after_the_charge_is_finished_by_the_runners_sweep_charging_once(
    client: TestClient, container: Container, consumer: Account, model_id: str
) -> None:
    add_card(client, consumer)
    inject(container, "charge", "timeout_after_success")
    before = all_captures(container)
    purchase_id = buy(client, consumer, model_id).json()["id"]
    done = wait_state(client, consumer, purchase_id)  # the sweep runs every 5 s
    assert done["state"] == "completed", done
    assert all_captures(container) == before + 1


def test_two_plan_purchases_at_once_end_one_subscribed_and_one_refunded_and_canceled(
    client: TestClient, container: Container, consumer: Account, model_id: str
) -> None:
    add_card(client, consumer)
    # Both first charges fail on a provider error, so both purchases are accepted before
    # either subscription is active; the sweep then charges both, and the second grant
    # cannot start a subscription the consumer holds already: it is refunded.
    inject(container, "create_subscription", "transient_5xx")
    inject(container, "create_subscription", "transient_5xx")
    before, refunded_before = all_captures(container), refunds(container)
    made = [buy(client, consumer, model_id, plan="pro") for _ in range(2)]
    assert [m.status_code for m in made] == [202, 202], [m.text for m in made]
    ended = [wait_state(client, consumer, m.json()["id"]) for m in made]
    assert sorted(e["state"] for e in ended) == ["canceled", "completed"], ended
    canceled = next(e for e in ended if e["state"] == "canceled")
    events = [step["event"] for step in canceled["history"]]
    assert events == [
        "Requested", "PaymentCaptured", "RefundRequested", "Refunded", "Canceled",
    ]  # fmt: skip
    assert canceled["history"][2]["reason"].startswith("already_subscribed")
    assert all_captures(container) == before + 2 and refunds(container) == refunded_before + 1
    # The refunded purchase's subscription at the provider is ended, not left to renew.
    refunded = container.app.load(Purchase, UUID(canceled["id"]))
    assert refunded.subscription is not None
    held = gateway(container).subscriptions[refunded.subscription["id"]]
    assert held.record.status == SubscriptionState.CANCELED


def test_a_pending_payment_is_completed_by_the_sweep_once_past_its_timeout(
    client: TestClient, container: Container, consumer: Account, model_id: str,
    clock: MovableClock,
) -> None:  # fmt: skip
    add_card(client, consumer)
    inject(container, "charge", "processing")
    purchase_id = buy(client, consumer, model_id).json()["id"]
    pending = wait_state(client, consumer, purchase_id, "payment_pending")
    payment_id = pending["history"][-1]["payment_id"]
    side = container.billing.purchases
    assert side is not None
    side.gateway.settle(payment_id, True)  # type: ignore[attr-defined]
    sweep = Sweep(side.saga, side.purchase_queries, 0)
    sweep.run()  # before the timeout: the provider is not asked yet
    assert container.app.load(Purchase, UUID(purchase_id)).state == "payment_pending"
    clock.advance(61)
    sweep.run()
    assert wait_state(client, consumer, purchase_id)["state"] == "completed"


def test_what_cannot_be_bought_is_refused_before_anything_is_charged(
    client: TestClient, container: Container, publisher: Account, consumer: Account,
    model_id: str, outbox: Path,
) -> None:  # fmt: skip
    headers = consumer.headers
    missing = client.post(f"/v1/models/{model_id}/purchases", json={}, headers=headers)
    assert (missing.status_code, code(missing)) == (400, "idempotency_key_required")
    too_long = buy(client, consumer, model_id, key="k" * 256)
    assert too_long.status_code == 422
    no_card = buy(client, consumer, model_id)
    assert (no_card.status_code, code(no_card)) == (402, "payment_method_required")
    add_card(client, consumer)
    free = create_model(client, publisher)
    assert code(buy(client, consumer, free)) == "not_for_sale"
    unknown = buy(client, consumer, model_id, plan="gold")
    assert (unknown.status_code, code(unknown)) == (422, "unknown_plan")
    add_card(client, publisher)
    own = buy(client, publisher, model_id)
    assert (own.status_code, code(own)) == (409, "own_model")

    first = buy(client, consumer, model_id, key="same-key")
    same = buy(client, consumer, model_id, key="same-key")
    assert first.status_code == same.status_code == 202
    assert first.json()["id"] == same.json()["id"]
    other = buy(client, consumer, model_id, key="same-key", plan="pro")
    assert (other.status_code, code(other)) == (409, "idempotency_key_reused")
    wait_state(client, consumer, first.json()["id"])

    stranger = verified_account(client, outbox)
    hidden = client.get(f"/v1/purchases/{first.json()['id']}", headers=stranger.headers)
    assert (hidden.status_code, code(hidden)) == (404, "purchase_not_found")


def test_the_callers_purchases_are_listed_newest_first_in_pages(
    client: TestClient, consumer: Account, model_id: str, clock: MovableClock
) -> None:
    add_card(client, consumer)
    made = []
    for _ in range(3):
        made.append(buy(client, consumer, model_id).json()["id"])
        clock.advance(1)
    for purchase_id in made:
        wait_state(client, consumer, purchase_id)
    first = client.get("/v1/purchases", params={"limit": 2}, headers=consumer.headers).json()
    cursor = first["next_cursor"]
    assert cursor is not None
    rest = client.get(
        "/v1/purchases", params={"limit": 2, "cursor": cursor}, headers=consumer.headers
    ).json()
    listed = [p["id"] for p in first["items"] + rest["items"]]
    assert listed == list(reversed(made)) and rest["next_cursor"] is None
