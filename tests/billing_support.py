"""Helpers the billing tests share: a Subscription started as the purchase saga will start
it (on the simulated provider, then in the event store), and webhook deliveries signed as
Stripe signs them."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID, uuid4

from fastapi.testclient import TestClient

from commands.payment_ports import PlanPrice
from commands.provider_signature import signature_header
from domain.pricing import Money
from domain.subscription import Subscription
from infra.bootstrap import Container
from infra.payments.shared_sim import SharedSimulatedGateway
from infra.payments.simulated import SimulatedGateway
from infra.settings import Settings

WEBHOOK_SECRET = "whsec_test_0123456789abcdef0123456789abcdef"
PLANS = [
    {"name": "basic", "monthly_price": 900, "included_requests": 1000},
    {"name": "pro", "monthly_price": 2900, "included_requests": 10000},
]


def simulated(container: Container) -> Any:
    """The simulated provider: in memory when embedded, its shared file in the cluster."""
    gateway = container.billing.gateway
    assert isinstance(gateway, SimulatedGateway | SharedSimulatedGateway)
    return gateway


def start_subscription(
    container: Container,
    consumer_id: UUID,
    model_id: UUID,
    plan: dict[str, Any] | None = None,
    publisher_id: UUID | None = None,
) -> Subscription:
    """Customer, card, provider subscription, then our aggregate, activated."""
    plan = {**(plan or PLANS[0]), "currency": "EUR"}
    gateway, purchase_id = simulated(container), uuid4()
    customer = gateway.create_customer(consumer_id, "c@example.com", idempotency_key=f"{uuid4()}")
    card = gateway.save_payment_method(customer, "pm_card_visa", idempotency_key=f"{uuid4()}")
    metadata = {
        "purchase_id": str(purchase_id),
        "consumer_id": str(consumer_id),
        "model_id": str(model_id),
        "plan": plan["name"],
    }
    price = PlanPrice(model_id, plan["name"], Money(plan["monthly_price"], "EUR"))
    made = gateway.create_subscription(
        customer, card.id, price, metadata, idempotency_key=f"{purchase_id}:subscribe"
    )
    subscription = Subscription(consumer_id, model_id, publisher_id or uuid4(), purchase_id, plan)
    subscription.activate(made.id, made.current_period_start, made.current_period_end)
    container.app.save(subscription)
    return subscription


def deliver(
    client: TestClient, event: dict[str, Any], at: int, secret: str = WEBHOOK_SECRET
) -> Any:
    body = json.dumps(event).encode()
    headers = {"Stripe-Signature": signature_header(body, secret, at)}
    return client.post("/v1/webhooks/stripe", content=body, headers=headers)


def deliver_new(client: TestClient, container: Container, seen: int) -> int:
    """POST the simulated provider's events after the first `seen`; how many there are."""
    gateway = simulated(container)
    now = int(container.billing.payments.provider_events.clock.now().timestamp())
    for event in gateway.events[seen:]:
        response = deliver(client, event, now)
        assert response.status_code == 200, response.text
    return len(gateway.events)


def load(container: Container, subscription_id: UUID) -> Subscription:
    return container.app.load(Subscription, subscription_id)


def metered(settings: Settings) -> Settings:
    """Cluster settings whose usage goes through Kafka to `aimarket worker metering`, on a
    topic and consumer group of this test's own."""
    if settings.profile != "cluster":
        return settings
    tag = uuid4().hex[:8]
    return settings.model_copy(
        update={"usage_sink": "kafka", "usage_topic": f"t{tag}.usage",
                "worker_group": f"t{tag}-group"}
    )  # fmt: skip
