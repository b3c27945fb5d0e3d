"""The Stripe adapter against stripe-mock: each call's request is one Stripe's API accepts
(stripe-mock validates parameters against Stripe's OpenAPI), and its answer is mapped to
the port's types. stripe-mock keeps no state and answers fixtures, so what the answers
say (statuses, amounts of retrieved objects) is stripe-mock's, not a scenario's; the
stateful semantics are tested on the simulated gateway (test_payment_gateways.py)."""

from __future__ import annotations

import socket
from uuid import uuid4

import pytest

from commands.payment_ports import (
    InvoiceLine,
    PaymentStatus,
    PlanPrice,
    ProviderUnavailable,
    SubscriptionState,
)
from domain.errors import InvalidInput
from domain.pricing import Money
from infra.clock import SystemClock
from infra.payments.stripe_gateway import StripeGateway
from tests.plugins.services import StripeEndpoint

pytestmark = pytest.mark.services("stripe")
EUR5 = Money(500, "EUR")


@pytest.fixture
def gateway(stripe_api: StripeEndpoint) -> StripeGateway:
    return StripeGateway(stripe_api.api_key, stripe_api.api_base, SystemClock())


def key() -> str:
    return f"test-{uuid4()}"


def test_a_customer_is_created_with_our_user_id(gateway: StripeGateway) -> None:
    assert gateway.create_customer(uuid4(), "a@example.com", idempotency_key=key()).startswith(
        "cus_"
    )


def test_a_card_is_saved_by_a_confirmed_setup_intent(gateway: StripeGateway) -> None:
    saved = gateway.save_payment_method("cus_1", "pm_card_visa", idempotency_key=key())
    assert saved.id == "pm_card_visa"
    assert (saved.brand, len(saved.last4)) == ("visa", 4)
    assert 1 <= saved.exp_month <= 12 and saved.exp_year > 2000


def test_a_charge_is_an_off_session_payment_intent_mapped_to_a_payment(
    gateway: StripeGateway,
) -> None:
    payment = gateway.charge(
        "cus_1", "pm_card_visa", EUR5, "model x", {"purchase_id": "p"}, idempotency_key=key()
    )
    assert payment.id.startswith("pi_")
    assert payment.amount == EUR5
    # stripe-mock's fixture intent still wants a payment method: not paid, and said why.
    assert payment.status == PaymentStatus.FAILED
    assert payment.failure_code


def test_a_payment_is_retrieved_by_id(gateway: StripeGateway) -> None:
    payment = gateway.retrieve_payment("pi_123")
    assert payment.id == "pi_123"
    assert payment.amount.currency.isupper()


def test_a_refund_names_its_payment_and_amount(gateway: StripeGateway) -> None:
    refund = gateway.refund("pi_123", Money(200, "EUR"), idempotency_key=key())
    assert refund.id.startswith("re_")
    assert (refund.payment_id, refund.amount) == ("pi_123", Money(200, "EUR"))


def test_a_subscription_is_created_with_price_data_and_its_period_mapped(
    gateway: StripeGateway,
) -> None:
    price = PlanPrice(uuid4(), "pro", Money(900, "EUR"))
    made = gateway.create_subscription(
        "cus_1", "pm_card_visa", price, {"consumer_id": "c", "model_id": "m"}, idempotency_key=key()
    )
    assert made.id.startswith("sub_")
    assert made.status == SubscriptionState.ACTIVE
    # stripe-mock's fixture periods are arbitrary: mapped from the item's timestamps.
    assert made.current_period_start.year > 1970 and made.current_period_end.year > 1970
    assert made.latest_payment is not None and made.latest_payment.id.startswith("in_")


def test_a_subscription_is_canceled_now_or_at_period_end(gateway: StripeGateway) -> None:
    now = gateway.cancel_subscription("sub_123", False, idempotency_key=key())
    later = gateway.cancel_subscription("sub_123", True, idempotency_key=key())
    assert now.id.startswith("sub_") and later.id.startswith("sub_")
    assert later.cancel_at_period_end


def test_a_plan_change_replaces_the_item_price(gateway: StripeGateway) -> None:
    price = PlanPrice(uuid4(), "team", Money(2900, "EUR"))
    changed = gateway.change_subscription_plan("sub_123", price, idempotency_key=key())
    assert changed.id.startswith("sub_")


def test_usage_lines_are_pushed_as_invoice_items_on_a_finalized_invoice(
    gateway: StripeGateway,
) -> None:
    lines = [
        InvoiceLine("calls of m1", Money(120, "EUR"), {"model_id": "m1"}),
        InvoiceLine("calls of m2", Money(30, "EUR")),
    ]
    invoice = gateway.push_invoice("cus_1", lines, idempotency_key=key())
    assert invoice.id.startswith("in_")
    assert invoice.total == Money(150, "EUR")


def test_an_invoice_of_mixed_currencies_is_refused_before_any_call(
    gateway: StripeGateway,
) -> None:
    lines = [InvoiceLine("a", Money(1, "EUR")), InvoiceLine("b", Money(1, "USD"))]
    with pytest.raises(InvalidInput):
        gateway.push_invoice("cus_1", lines, idempotency_key=key())


def test_a_connected_account_and_a_transfer_to_it(gateway: StripeGateway) -> None:
    account = gateway.create_connected_account(uuid4(), "pub@example.com", idempotency_key=key())
    assert account.startswith("acct_")
    made = gateway.transfer(account, Money(700, "EUR"), {"payout_id": "p"}, idempotency_key=key())
    assert made.id.startswith("tr_")
    assert (made.destination, made.amount) == (account, Money(700, "EUR"))


def test_an_unreachable_stripe_is_provider_unavailable() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    gateway = StripeGateway("sk_test_123", f"http://127.0.0.1:{port}", SystemClock(), 2.0)
    with pytest.raises(ProviderUnavailable):
        gateway.create_customer(uuid4(), "a@example.com", idempotency_key=key())


def test_a_refused_api_key_is_provider_unavailable(stripe_api: StripeEndpoint) -> None:
    gateway = StripeGateway("not-a-key", stripe_api.api_base, SystemClock())
    with pytest.raises(ProviderUnavailable):
        gateway.create_customer(uuid4(), "a@example.com", idempotency_key=key())
