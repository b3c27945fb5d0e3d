"""The payment gateway port's behaviour on both gateways where stripe-mock's statelessness
allows (a card saved, charged, refunded; a subscription started and canceled), and the
stateful semantics on the simulated one alone: test cards' declines, idempotency keys,
and each fault."""

from __future__ import annotations

from uuid import uuid4

import pytest

from commands.payment_ports import (
    CardDeclined,
    IdempotencyKeyReused,
    PaymentGateway,
    PaymentStatus,
    PlanPrice,
    ProviderUnavailable,
)
from domain.pricing import Money
from infra.clock import SystemClock
from infra.payments.simulated import SimulatedGateway
from infra.payments.stripe_gateway import StripeGateway

EUR5 = Money(500, "EUR")


def key() -> str:
    return f"test-{uuid4()}"


@pytest.fixture(params=["simulated", pytest.param("stripe", marks=pytest.mark.services("stripe"))])
def gateway(request: pytest.FixtureRequest) -> PaymentGateway:
    if request.param == "simulated":
        return SimulatedGateway(SystemClock())
    stripe_api = request.getfixturevalue("stripe_api")
    return StripeGateway(stripe_api.api_key, stripe_api.api_base, SystemClock())


def customer_with_card(gateway: PaymentGateway) -> tuple[str, str]:
    customer = gateway.create_customer(uuid4(), "buyer@example.com", idempotency_key=key())
    card = gateway.save_payment_method(customer, "pm_card_visa", idempotency_key=key())
    return customer, card.id


def test_a_saved_card_is_described(gateway: PaymentGateway) -> None:
    customer = gateway.create_customer(uuid4(), "buyer@example.com", idempotency_key=key())
    assert customer.startswith("cus_")
    card = gateway.save_payment_method(customer, "pm_card_visa", idempotency_key=key())
    assert card.id.startswith("pm_")
    assert (card.brand, len(card.last4)) == ("visa", 4)


def test_a_charge_and_its_refund(gateway: PaymentGateway) -> None:
    customer, card = customer_with_card(gateway)
    payment = gateway.charge(customer, card, EUR5, "model", {"p": "1"}, idempotency_key=key())
    assert payment.id.startswith("pi_") and payment.amount == EUR5
    if isinstance(gateway, SimulatedGateway):
        assert payment.status == PaymentStatus.SUCCEEDED  # stripe-mock's fixture is unpaid
    refund = gateway.refund(payment.id, Money(200, "EUR"), idempotency_key=key())
    assert (refund.payment_id, refund.amount) == (payment.id, Money(200, "EUR"))


def test_a_subscription_is_started_and_canceled_at_its_period_end(gateway: PaymentGateway) -> None:
    customer, card = customer_with_card(gateway)
    price = PlanPrice(uuid4(), "basic", Money(900, "EUR"))
    made = gateway.create_subscription(customer, card, price, {"a": "b"}, idempotency_key=key())
    assert made.id.startswith("sub_") and made.status == "active"
    later = gateway.cancel_subscription(made.id, True, idempotency_key=key())
    assert later.cancel_at_period_end


# The simulated gateway's state: what stripe-mock cannot show.


@pytest.fixture
def sim() -> SimulatedGateway:
    return SimulatedGateway(SystemClock())


def test_test_cards_decline_as_stripes_do(sim: SimulatedGateway) -> None:
    customer = sim.create_customer(uuid4(), "b@example.com", idempotency_key=key())
    with pytest.raises(CardDeclined):
        sim.save_payment_method(customer, "4000 0000 0000 0002", idempotency_key=key())
    poor = sim.save_payment_method(customer, "4000000000009995", idempotency_key=key())
    declined = sim.charge(customer, poor.id, EUR5, "m", {}, idempotency_key=key())
    assert (declined.status, declined.failure_code) == (PaymentStatus.FAILED, "insufficient_funds")


def test_the_same_key_answers_the_same_and_other_parameters_are_refused(
    sim: SimulatedGateway,
) -> None:
    customer, card = customer_with_card(sim)
    once = key()
    first = sim.charge(customer, card, EUR5, "m", {}, idempotency_key=once)
    assert sim.charge(customer, card, EUR5, "m", {}, idempotency_key=once) == first
    assert len(sim.payments) == 1
    with pytest.raises(IdempotencyKeyReused):
        sim.charge(customer, card, Money(501, "EUR"), "m", {}, idempotency_key=once)


def test_a_timeout_after_success_is_answered_by_the_retry_without_a_second_charge(
    sim: SimulatedGateway,
) -> None:
    customer, card = customer_with_card(sim)
    sim.faults.inject("charge", "timeout_after_success")
    once = key()
    with pytest.raises(ProviderUnavailable):
        sim.charge(customer, card, EUR5, "m", {}, idempotency_key=once)
    retried = sim.charge(customer, card, EUR5, "m", {}, idempotency_key=once)
    assert retried.status == PaymentStatus.SUCCEEDED
    assert list(sim.payments) == [retried.id]


def test_a_transient_5xx_charges_nothing_and_the_retry_charges_once(
    sim: SimulatedGateway,
) -> None:
    customer, card = customer_with_card(sim)
    sim.faults.inject("charge", "transient_5xx")
    once = key()
    with pytest.raises(ProviderUnavailable):
        sim.charge(customer, card, EUR5, "m", {}, idempotency_key=once)
    assert sim.payments == {}
    assert sim.charge(customer, card, EUR5, "m", {}, idempotency_key=once).status == "succeeded"
    assert len(sim.payments) == 1


def test_a_processing_payment_settles_later(sim: SimulatedGateway) -> None:
    customer, card = customer_with_card(sim)
    sim.faults.inject("charge", "processing")
    pending = sim.charge(customer, card, EUR5, "m", {}, idempotency_key=key())
    assert pending.status == PaymentStatus.PROCESSING
    sim.settle(pending.id, succeeded=True)
    assert sim.retrieve_payment(pending.id).status == PaymentStatus.SUCCEEDED
