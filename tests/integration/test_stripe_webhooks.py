"""The Stripe webhook intake and the subscription lifecycle it drives, on both profiles:
the simulated provider's renewals, failures and cancellations, its events POSTed signed
as Stripe signs them, duplicated and out of order."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from fastapi.testclient import TestClient

from commands.provider_signature import signature_header
from domain.pricing import Money
from domain.subscription import Subscription, SubscriptionStatus
from infra.bootstrap import Container
from tests.billing_support import (
    WEBHOOK_SECRET,
    deliver,
    deliver_new,
    load,
    simulated,
    start_subscription,
)
from tests.support import MovableClock

DAY = 24 * 3600


class Charges:
    """A ChargeRecorder that remembers, as the ledger would (idempotent by transaction)."""

    def __init__(self) -> None:
        self.charges: dict[str, tuple[UUID, UUID, Money]] = {}

    def record_charge(
        self, transaction_id: str, publisher_id: UUID, model_id: UUID, gross: Money, at: datetime
    ) -> None:
        self.charges.setdefault(transaction_id, (publisher_id, model_id, gross))

    def record_refund(self, *args: Any) -> None:
        raise AssertionError("no refunds here")


def now_s(clock: MovableClock) -> int:
    return int(clock.now().timestamp())


def renew_once(client: TestClient, container: Container, clock: MovableClock, seen: int) -> int:
    """A month and a day later: the provider renews, its events are delivered."""
    clock.advance(32 * DAY)
    simulated(container).advance(clock.now())
    return deliver_new(client, container, seen)


def paid_invoices(events: list[dict[str, Any]], sub: Subscription) -> list[dict[str, Any]]:
    """This subscription's paid renewals (the cluster's provider is shared by the tests)."""
    paid = [e for e in events if e["type"] == "invoice.paid"]
    return [e for e in paid if e["data"]["object"].get("subscription") == sub.provider_id]


def test_a_paid_renewal_extends_access_and_posts_the_charge_once(
    client: TestClient, container: Container, clock: MovableClock
) -> None:
    charges = Charges()
    container.billing.payments.provider_events.charges = charges
    publisher, model = uuid4(), uuid4()
    sub = start_subscription(container, uuid4(), model, publisher_id=publisher)
    first_end = sub.period_end
    seen = renew_once(client, container, clock, 0)
    renewed = load(container, sub.id)
    assert renewed.status == SubscriptionStatus.ACTIVE
    assert renewed.period_end is not None and first_end is not None
    assert renewed.period_end > first_end
    assert renewed.gives_access_at(clock.now())
    [paid] = paid_invoices(simulated(container).events, sub)
    mine = {tx: charge for tx, charge in charges.charges.items() if charge[1] == model}
    assert mine == {paid["data"]["object"]["id"]: (publisher, model, Money(900, "EUR"))}
    # Stripe delivers again: the same event id changes nothing.
    again = deliver(client, paid, now_s(clock))
    assert (again.status_code, again.json()["outcome"]) == (200, "duplicate")
    assert load(container, sub.id).version == renewed.version
    assert seen == len(simulated(container).events)


def test_an_older_renewal_after_a_newer_one_changes_nothing(
    client: TestClient, container: Container, clock: MovableClock
) -> None:
    sub = start_subscription(container, uuid4(), uuid4())
    gateway = simulated(container)
    for _ in range(2):
        clock.advance(32 * DAY)
        gateway.advance(clock.now())
    older, newer = paid_invoices(gateway.events, sub)
    assert deliver(client, newer, now_s(clock)).json()["outcome"] == "handled"
    latest = load(container, sub.id)
    assert deliver(client, older, now_s(clock)).json()["outcome"] == "stale"
    assert load(container, sub.id).period_end == latest.period_end


def test_a_deletion_before_an_update_stays_canceled(
    client: TestClient, container: Container, clock: MovableClock
) -> None:
    sub = start_subscription(container, uuid4(), uuid4())
    gateway = simulated(container)
    provider_id = load(container, sub.id).provider_id
    assert provider_id is not None
    gateway.cancel_subscription(provider_id, True, idempotency_key=str(uuid4()))
    clock.advance(32 * DAY)
    gateway.advance(clock.now())
    update, deletion = (
        next(
            e
            for e in gateway.events
            if e["type"] == kind and e["data"]["object"]["id"] == provider_id
        )
        for kind in ("customer.subscription.updated", "customer.subscription.deleted")
    )
    assert deliver(client, deletion, now_s(clock)).json()["outcome"] == "handled"
    assert deliver(client, update, now_s(clock)).status_code == 200
    assert load(container, sub.id).status == SubscriptionStatus.CANCELED


def test_three_failed_renewals_make_it_past_due_then_canceled_and_access_ends_with_the_paid_period(
    client: TestClient, container: Container, clock: MovableClock
) -> None:
    consumer = uuid4()
    sub = start_subscription(container, consumer, uuid4())
    gateway = simulated(container)
    provider_id = load(container, sub.id).provider_id
    assert provider_id is not None
    customer = gateway.subscriptions[provider_id].customer_id
    failing = gateway.save_payment_method(
        customer, "4000000000000341", idempotency_key=str(uuid4())
    )
    gateway.set_default_payment_method(provider_id, failing.id)
    paid_until = datetime.fromisoformat(str(sub.period_end))
    seen = renew_once(client, container, clock, 0)
    assert load(container, sub.id).status == SubscriptionStatus.PAST_DUE
    assert not load(container, sub.id).gives_access_at(clock.now())  # the paid period is over
    assert load(container, sub.id).gives_access_at(paid_until - timedelta(seconds=1))
    for _ in range(2):
        clock.advance(3 * DAY)
        gateway.advance(clock.now())
        seen = deliver_new(client, container, seen)
    ended = load(container, sub.id)
    assert ended.status == SubscriptionStatus.CANCELED
    assert ended.period_end == sub.period_end  # no failed renewal extended it


def test_an_unknown_event_type_is_acknowledged_and_ignored(
    client: TestClient, clock: MovableClock
) -> None:
    event = {"id": f"evt_{uuid4().hex}", "type": "charge.dispute.created", "data": {"object": {}}}
    response = deliver(client, event, now_s(clock))
    assert (response.status_code, response.json()["outcome"]) == (200, "ignored")


def test_an_unsigned_or_tampered_or_stale_delivery_is_refused_before_any_work(
    client: TestClient, container: Container, clock: MovableClock
) -> None:
    sub = start_subscription(container, uuid4(), uuid4())
    provider_id = load(container, sub.id).provider_id
    event = {
        "id": f"evt_{uuid4().hex}",
        "type": "customer.subscription.deleted",
        "data": {"object": {"object": "subscription", "id": provider_id, "status": "canceled",
                            "metadata": {"consumer_id": str(sub.consumer_id),
                                         "model_id": str(sub.model_id)}}},
    }  # fmt: skip
    body = json.dumps(event).encode()
    signed = signature_header(body, WEBHOOK_SECRET, now_s(clock))
    cases = [
        ({}, body, "invalid_signature"),
        ({"Stripe-Signature": signed}, body.replace(b"deleted", b"updated"), "invalid_signature"),
        ({"Stripe-Signature": signature_header(body, "whsec_other", now_s(clock))}, body,
         "invalid_signature"),
        ({"Stripe-Signature": signature_header(body, WEBHOOK_SECRET, now_s(clock) - 301)}, body,
         "signature_expired"),
    ]  # fmt: skip
    for headers, content, expected in cases:
        response = client.post("/v1/webhooks/stripe", content=content, headers=headers)
        assert (response.status_code, response.json()["error"]["code"]) == (400, expected)
    assert load(container, sub.id).status == SubscriptionStatus.ACTIVE
    garbage = b"{not json"
    response = client.post(
        "/v1/webhooks/stripe",
        content=garbage,
        headers={"Stripe-Signature": signature_header(garbage, WEBHOOK_SECRET, now_s(clock))},
    )
    assert (response.status_code, response.json()["error"]["code"]) == (400, "malformed_json")
    huge = b"{" + b" " * (256 * 1024) + b"}"
    response = client.post("/v1/webhooks/stripe", content=huge, headers={"Stripe-Signature": "t=1"})
    assert response.status_code == 413
    # The genuine delivery still works afterwards.
    genuine = client.post("/v1/webhooks/stripe", content=body, headers={"Stripe-Signature": signed})
    assert genuine.json()["outcome"] == "handled"
    assert load(container, sub.id).status == SubscriptionStatus.CANCELED


def test_a_signed_event_without_the_fields_its_type_needs_is_malformed(
    client: TestClient, container: Container, clock: MovableClock
) -> None:
    sub = start_subscription(container, uuid4(), uuid4())
    metadata = {"consumer_id": str(sub.consumer_id), "model_id": str(sub.model_id)}
    invoice = {
        "object": "invoice",
        "id": "in_x",
        "subscription": sub.provider_id,
        "subscription_details": {"metadata": metadata},
    }
    event = {"id": f"evt_{uuid4().hex}", "type": "invoice.paid", "data": {"object": invoice}}
    response = deliver(client, event, now_s(clock))
    assert (response.status_code, response.json()["error"]["code"]) == (400, "malformed_json")
    assert load(container, sub.id).version == sub.version
