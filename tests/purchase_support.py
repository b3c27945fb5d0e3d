"""What the purchase tests share: the saga running on either profile (the embedded
runner in the container; `aimarket worker purchases` in the cluster), cards, purchases
through the API, and a look into the simulated provider (in memory, or its shared file)."""

from __future__ import annotations

import time
import uuid
from typing import Any

from fastapi.testclient import TestClient

from commands.payment_ports import Payment, PaymentStatus
from infra.bootstrap import Container
from infra.payments.shared_sim import SharedSimulatedGateway
from infra.payments.simulated import SimulatedGateway
from tests.support import Account

FINAL = ("completed", "payment_failed", "canceled")


def gateway(container: Container) -> Any:
    assert container.billing.purchases is not None
    return container.billing.purchases.gateway


def inject(container: Container, operation: str, fault: str) -> None:
    sim = gateway(container)
    if isinstance(sim, SharedSimulatedGateway):
        sim.inject(operation, fault)
    else:
        assert isinstance(sim, SimulatedGateway)
        sim.faults.inject(operation, fault)


def payments(container: Container) -> dict[str, Payment]:
    sim = gateway(container)
    return sim.payments() if isinstance(sim, SharedSimulatedGateway) else dict(sim.payments)


def refunds(container: Container) -> int:
    sim = gateway(container)
    if isinstance(sim, SharedSimulatedGateway):
        with sim._state(write=False):
            return len(sim.inner.refunds)
    return len(sim.refunds)


def all_captures(container: Container) -> int:
    """Succeeded charges at the provider: tests compare before and after a purchase."""
    return sum(1 for p in payments(container).values() if p.status == PaymentStatus.SUCCEEDED)


def add_card(client: TestClient, who: Account, card: str = "pm_card_visa") -> Any:
    return client.post(
        "/v1/billing/payment-methods", json={"payment_method": card}, headers=who.headers
    )


def buy(
    client: TestClient, who: Account, model_id: str, key: str | None = None, **body: Any
) -> Any:
    headers = {**who.headers, "Idempotency-Key": key or uuid.uuid4().hex}
    return client.post(f"/v1/models/{model_id}/purchases", json=body, headers=headers)


def wait_state(
    client: TestClient, who: Account, purchase_id: str, *states: str, timeout_s: float = 60
) -> dict[str, Any]:
    """The purchase as the API shows it once it is in one of `states` (default: final)."""
    wanted = states or FINAL
    deadline, body = time.monotonic() + timeout_s, {}
    while time.monotonic() < deadline:
        response = client.get(f"/v1/purchases/{purchase_id}", headers=who.headers)
        body = response.json()
        if response.status_code == 200 and body["state"] in wanted:
            return dict(body)
        time.sleep(0.1)
    raise AssertionError(f"purchase {purchase_id} not {wanted} in time: {body}")
