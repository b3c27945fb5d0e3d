"""The purchase saga's steps against the simulated gateway, through the embedded
composition root (its runner not started: each test drives the steps itself).

At most one capture per purchase whatever goes wrong, no access without payment, every
capture ends granted or refunded."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from commands.payment_ports import CardDeclined, ProviderUnavailable
from domain.principal import Principal
from domain.purchase import Purchase, PurchaseState
from domain.subscription import Subscription, SubscriptionStatus
from domain.user import Role
from infra.bootstrap import Container, build_container
from infra.payments.simulated import SimulatedGateway
from infra.settings import Settings
from tests.support import MovableClock

PRICING = {
    "currency": "EUR",
    "free_requests_per_month": 1,
    "price_per_request": 2,
    "purchase_price": 4900,
    "plans": [{"name": "pro", "monthly_price": 1500, "included_requests": 1000}],
}


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
def container(tmp_path: Path, clock: MovableClock) -> Iterator[Container]:
    settings = Settings(profile="embedded", data_dir=tmp_path, argon2_time_cost=1,
                        argon2_memory_kib=8, purchase_pending_timeout_s=60)  # fmt: skip
    built = build_container(settings, clock=clock)  # runners not started
    yield built
    built.close()


def person(container: Container, role: Role) -> Principal:
    written = container.account_commands.register_user(f"{uuid.uuid4().hex}@x.org", "h", role)
    container.account_commands.verify_email(written.id)
    return Principal(written.id, role.value, True, "jwt")


@pytest.fixture
def model_id(container: Container) -> UUID:
    publisher = person(container, Role.PUBLISHER)
    details = {"name": "M", "visibility": "public"}
    return container.model_commands.create_model(publisher, "m", details, PRICING).id


def gateway(container: Container) -> SimulatedGateway:
    assert container.billing.purchases is not None
    found = container.billing.purchases.gateway
    assert isinstance(found, SimulatedGateway)
    return found


def buyer(container: Container, card: str = "pm_card_visa") -> Principal:
    consumer = person(container, Role.CONSUMER)
    assert container.billing.purchases is not None
    container.billing.purchases.payment_methods.add(consumer, card)
    return consumer


def request(container: Container, who: Principal, model_id: UUID, plan: str | None = None) -> UUID:
    assert container.billing.purchases is not None
    purchase, _ = container.billing.purchases.purchases.request_purchase(
        who, model_id, uuid.uuid4().hex, plan
    )
    return purchase.id


def saga(container: Container) -> Any:
    assert container.billing.purchases is not None
    return container.billing.purchases.saga


def state(container: Container, purchase_id: UUID) -> str:
    return str(container.app.load(Purchase, purchase_id).state)


def paid(container: Container, who: Principal, model_id: UUID) -> bool:
    assert container.billing.purchases is not None
    return container.billing.purchases.paid_access.has_paid_access(who.user_id, model_id)


def succeeded(container: Container) -> int:
    return sum(1 for p in gateway(container).payments.values() if p.status == "succeeded")


def test_a_one_off_purchase_is_charged_once_granted_and_completed(
    container: Container, model_id: UUID
) -> None:
    consumer = buyer(container)
    assert not paid(container, consumer, model_id)
    purchase_id = request(container, consumer, model_id)
    assert saga(container).advance(purchase_id) == PurchaseState.COMPLETED
    assert succeeded(container) == 1
    [payment] = gateway(container).payments.values()
    assert payment.amount.amount == 4900 and payment.amount.currency == "EUR"
    assert paid(container, consumer, model_id)
    assert saga(container).advance(purchase_id) == PurchaseState.COMPLETED  # redelivered
    assert succeeded(container) == 1


def test_a_subscription_purchase_activates_the_subscription(
    container: Container, model_id: UUID, clock: MovableClock
) -> None:
    consumer = buyer(container)
    purchase_id = request(container, consumer, model_id, plan="pro")
    assert saga(container).advance(purchase_id) == PurchaseState.COMPLETED
    held = container.app.load(Subscription, Subscription.create_id(consumer.user_id, model_id))
    assert held.status == SubscriptionStatus.ACTIVE and held.purchase_id == purchase_id
    assert held.included_requests == 1000 and held.gives_access_at(clock.now())
    assert paid(container, consumer, model_id) and succeeded(container) == 1
    [sub] = gateway(container).subscriptions.values()
    assert sub.metadata["purchase_id"] == str(purchase_id) and sub.metadata["plan"] == "pro"


def test_a_card_declined_on_save_is_refused_and_one_failing_later_fails_the_purchase(
    container: Container, model_id: UUID
) -> None:
    consumer = person(container, Role.CONSUMER)
    assert container.billing.purchases is not None
    with pytest.raises(CardDeclined):
        container.billing.purchases.payment_methods.add(consumer, "4000 0000 0000 0002")
    assert container.billing.purchases.payment_methods.list(consumer.user_id) == []
    container.billing.purchases.payment_methods.add(consumer, "4000 0000 0000 0341")
    purchase_id = request(container, consumer, model_id)
    assert saga(container).advance(purchase_id) == PurchaseState.PAYMENT_FAILED
    assert container.app.load(Purchase, purchase_id).failure["code"] == "card_declined"
    assert succeeded(container) == 0 and not paid(container, consumer, model_id)


def test_a_provider_timeout_after_success_is_retried_with_the_same_key_one_capture(
    container: Container, model_id: UUID
) -> None:
    consumer = buyer(container)
    purchase_id = request(container, consumer, model_id)
    gateway(container).faults.inject("charge", "timeout_after_success")
    with pytest.raises(ProviderUnavailable):
        saga(container).advance(purchase_id)
    assert succeeded(container) == 1 and state(container, purchase_id) == "requested"
    assert saga(container).advance(purchase_id) == PurchaseState.COMPLETED
    assert succeeded(container) == 1 and paid(container, consumer, model_id)


def test_a_crash_between_the_charge_and_its_event_charges_once(
    container: Container, model_id: UUID, monkeypatch: pytest.MonkeyPatch
) -> None:
    consumer = buyer(container)
    purchase_id = request(container, consumer, model_id)
    real_write = container.app.write

    def crash(*aggregates: Any) -> Any:
        monkeypatch.setattr(container.app, "write", real_write)  # only the first save fails
        raise OSError("the process died before the event was stored")

    monkeypatch.setattr(container.app, "write", crash)
    with pytest.raises(OSError):
        saga(container).step(purchase_id)
    assert succeeded(container) == 1 and state(container, purchase_id) == "requested"
    assert saga(container).advance(purchase_id) == PurchaseState.COMPLETED
    assert succeeded(container) == 1


def test_the_same_step_twice_and_two_steppers_at_once_charge_once(
    container: Container, model_id: UUID
) -> None:
    consumer = buyer(container)
    purchase_id = request(container, consumer, model_id)
    assert saga(container).step(purchase_id) and saga(container).step(purchase_id)
    assert state(container, purchase_id) == "access_granted" and succeeded(container) == 1

    racing = request(container, buyer(container), model_id)
    start, states = threading.Barrier(4), []

    def run() -> None:
        start.wait()
        states.append(saga(container).advance(racing))

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert states == ["completed"] * 4
    assert succeeded(container) == 2  # one for each purchase


def test_a_grant_that_fails_after_the_capture_is_refunded_and_canceled(
    container: Container, model_id: UUID
) -> None:
    consumer = buyer(container)
    purchase_id = request(container, consumer, model_id)
    assert saga(container).step(purchase_id)  # charged
    assert state(container, purchase_id) == "payment_captured"
    container.model_commands.delete(publisher_of(container, model_id), model_id)
    assert saga(container).advance(purchase_id) == PurchaseState.CANCELED
    done = container.app.load(Purchase, purchase_id)
    [refund] = gateway(container).refunds.values()
    assert done.refund_id == refund.id and refund.payment_id == done.payment_id
    assert refund.amount.amount == 4900
    assert not paid(container, consumer, model_id)


def publisher_of(container: Container, model_id: UUID) -> Principal:
    from domain.model import Model

    model = container.app.load(Model, model_id)
    return Principal(model.publisher_id, "publisher", True, "jwt")


def test_a_pending_payment_is_reconciled_after_the_timeout(
    container: Container, model_id: UUID, clock: MovableClock
) -> None:
    consumer = buyer(container)
    purchase_id = request(container, consumer, model_id)
    gateway(container).faults.inject("charge", "processing")
    assert saga(container).advance(purchase_id) == PurchaseState.PAYMENT_PENDING
    payment_id = container.app.load(Purchase, purchase_id).payment_id
    assert payment_id is not None
    gateway(container).settle(payment_id, True)
    assert saga(container).advance(purchase_id) == PurchaseState.PAYMENT_PENDING  # too soon
    assert not paid(container, consumer, model_id)
    clock.advance(61)
    assert saga(container).advance(purchase_id) == PurchaseState.COMPLETED
    assert succeeded(container) == 1 and paid(container, consumer, model_id)


class Ledger:
    """A ChargeRecorder that keeps what it was told, idempotent by transaction id."""

    def __init__(self) -> None:
        self.charges: dict[str, int] = {}
        self.refunds: dict[str, tuple[str, int]] = {}

    def record_charge(self, transaction_id: str, publisher_id: UUID, model_id: UUID,
                      gross: Any, at: Any) -> None:  # fmt: skip
        self.charges[transaction_id] = gross.amount

    def record_refund(self, transaction_id: str, charge_transaction_id: str,
                      publisher_id: UUID, amount: Any, at: Any) -> None:  # fmt: skip
        self.refunds[transaction_id] = (charge_transaction_id, amount.amount)


def test_captures_and_refunds_are_posted_to_the_ledger_by_purchase_id(
    container: Container, model_id: UUID
) -> None:
    ledger = Ledger()
    saga(container).recorder = ledger
    kept = request(container, buyer(container), model_id)
    saga(container).advance(kept)
    refunded = request(container, buyer(container), model_id)
    saga(container).step(refunded)
    container.model_commands.delete(publisher_of(container, model_id), model_id)
    assert saga(container).advance(refunded) == PurchaseState.CANCELED
    assert ledger.charges == {str(kept): 4900, str(refunded): 4900}
    assert ledger.refunds == {f"{refunded}:refund": (str(refunded), 4900)}
