"""The Purchase aggregate's transitions refuse illegal moves: no grant without a capture,
no second capture, no refund of what was not captured."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import pytest

from domain.purchase import IllegalPurchaseStep, Purchase, PurchaseState

AT = datetime(2031, 3, 4, 5, 6, tzinfo=UTC)


def requested() -> Purchase:
    return Purchase(
        consumer_id=uuid4(), idempotency_key="k", model_id=uuid4(), publisher_id=uuid4(),
        kind="one_off", plan=None, amount={"amount": 900, "currency": "EUR"}, pricing={},
        at=AT.isoformat(),
    )  # fmt: skip


def test_the_same_key_names_the_same_purchase_for_one_consumer_only() -> None:
    consumer = uuid4()
    assert Purchase.create_id(consumer, "k") == Purchase.create_id(consumer, "k")
    assert Purchase.create_id(consumer, "k") != Purchase.create_id(uuid4(), "k")


def test_no_grant_without_a_capture() -> None:
    purchase = requested()
    with pytest.raises(IllegalPurchaseStep):
        purchase.grant(AT)
    purchase.fail("card_declined", "declined", AT)
    with pytest.raises(IllegalPurchaseStep):
        purchase.grant(AT)
    assert purchase.state == PurchaseState.PAYMENT_FAILED and purchase.is_final


def test_no_second_capture_and_no_capture_by_another_payment() -> None:
    purchase = requested()
    purchase.record_pending("pi_1", None, AT)
    with pytest.raises(IllegalPurchaseStep):
        purchase.capture("pi_2", purchase.amount, None, AT)
    purchase.capture("pi_1", purchase.amount, None, AT)
    with pytest.raises(IllegalPurchaseStep):
        purchase.capture("pi_1", purchase.amount, None, AT)


def test_a_refund_only_after_a_capture_whose_grant_failed() -> None:
    purchase = requested()
    with pytest.raises(IllegalPurchaseStep):
        purchase.request_refund("no", AT)
    purchase.capture("pi_1", purchase.amount, None, AT)
    purchase.request_refund("grant_failed: the model is gone", AT)
    with pytest.raises(IllegalPurchaseStep):
        purchase.grant(AT)
    purchase.refunded("re_1", AT)
    purchase.cancel("grant_failed", AT)
    assert purchase.state == PurchaseState.CANCELED and purchase.refund_id == "re_1"
    assert [type(e).__name__ for e in purchase.collect_events()] == [
        "Requested", "PaymentCaptured", "RefundRequested", "Refunded", "Canceled",
    ]  # fmt: skip
