"""A consumer's subscriptions through the API, on both profiles: list, cancel at the period
end or now (access lasts to the paid period's end either way), change plan; another
consumer's subscription is missing."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from uuid import UUID

from fastapi.testclient import TestClient

from domain.subscription import SubscriptionStatus
from infra.bootstrap import Container
from tests.billing_support import PLANS, deliver_new, load, simulated, start_subscription
from tests.integration.test_model_registry import create
from tests.support import Account, MovableClock, verified_account

DAY = 24 * 3600


def subscribed(client: TestClient, container: Container, outbox: Path) -> tuple[Account, UUID]:
    publisher = verified_account(client, outbox, role="publisher")
    pricing = {"currency": "EUR", "plans": PLANS}
    model_id = create(client, publisher, slug="planned", visibility="public", pricing=pricing)
    consumer = verified_account(client, outbox)
    sub = start_subscription(
        container, UUID(consumer.id), UUID(model_id), publisher_id=UUID(publisher.id)
    )
    return consumer, sub.id


def test_a_consumer_lists_their_subscriptions_with_plan_status_and_period(
    client: TestClient, container: Container, outbox: Path
) -> None:
    consumer, sub_id = subscribed(client, container, outbox)
    position = container.app.recorder.max_notification_id()
    listed = client.get(f"/v1/subscriptions?wait_for={position}", headers=consumer.headers)
    assert listed.status_code == 200, listed.text
    [item] = listed.json()["items"]
    assert (item["id"], item["status"], item["plan"]["name"]) == (str(sub_id), "active", "basic")
    assert item["period_end"] > item["period_start"]
    assert item["cancel_at_period_end"] is False
    stranger = verified_account(client, outbox)
    assert client.get("/v1/subscriptions", headers=stranger.headers).json()["items"] == []


def test_cancel_at_period_end_keeps_access_until_the_provider_ends_it(
    client: TestClient, container: Container, outbox: Path, clock: MovableClock
) -> None:
    consumer, sub_id = subscribed(client, container, outbox)
    seen = len(simulated(container).events)
    canceled = client.post(f"/v1/subscriptions/{sub_id}/cancel", json={}, headers=consumer.headers)
    assert canceled.status_code == 200, canceled.text
    sub = load(container, sub_id)
    assert sub.cancel_at_period_end and sub.status == SubscriptionStatus.ACTIVE
    assert sub.gives_access_at(clock.now())
    clock.advance(32 * DAY)
    simulated(container).advance(clock.now())
    deliver_new(client, container, seen)
    ended = load(container, sub_id)
    assert ended.status == SubscriptionStatus.CANCELED
    assert not ended.gives_access_at(clock.now())
    assert ended.period_end == sub.period_end


def test_cancel_now_ends_it_at_the_provider_and_keeps_the_paid_period(
    client: TestClient, container: Container, outbox: Path, clock: MovableClock
) -> None:
    consumer, sub_id = subscribed(client, container, outbox)
    body = {"at_period_end": False}
    canceled = client.post(
        f"/v1/subscriptions/{sub_id}/cancel", json=body, headers=consumer.headers
    )
    assert canceled.status_code == 200, canceled.text
    sub = load(container, sub_id)
    assert sub.status == SubscriptionStatus.CANCELED
    assert simulated(container).subscriptions[str(sub.provider_id)].record.status == "canceled"
    assert sub.gives_access_at(clock.now())
    period_end = datetime.fromisoformat(str(sub.period_end))
    assert not sub.gives_access_at(period_end + timedelta(seconds=1))


def test_a_plan_change_moves_the_provider_and_the_subscription(
    client: TestClient, container: Container, outbox: Path
) -> None:
    consumer, sub_id = subscribed(client, container, outbox)
    url = f"/v1/subscriptions/{sub_id}/change-plan"
    changed = client.post(url, json={"plan": "pro"}, headers=consumer.headers)
    assert changed.status_code == 200, changed.text
    sub = load(container, sub_id)
    assert (sub.plan["name"], sub.included_requests) == ("pro", 10000)
    held = simulated(container).subscriptions[str(sub.provider_id)]
    assert (held.price.plan, held.price.monthly.amount) == ("pro", 2900)
    unknown = client.post(url, json={"plan": "gold"}, headers=consumer.headers)
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (422, "unknown_plan")


def test_another_consumers_subscription_is_missing(
    client: TestClient, container: Container, outbox: Path
) -> None:
    _, sub_id = subscribed(client, container, outbox)
    intruder = verified_account(client, outbox)
    for path, body in (("cancel", {"at_period_end": False}), ("change-plan", {"plan": "pro"})):
        response = client.post(
            f"/v1/subscriptions/{sub_id}/{path}", json=body, headers=intruder.headers
        )
        assert (response.status_code, response.json()["error"]["code"]) == (
            404,
            "subscription_not_found",
        )
    assert load(container, sub_id).status == SubscriptionStatus.ACTIVE
