"""The Purchase aggregate: one consumer buying one model (outright or on a plan), and the
purchase saga's whole state.

Addressed by a uuid5 of (consumer, Idempotency-Key), so a request sent again with the same
key finds the same purchase. The transitions are pure and refuse illegal moves: no grant
without a capture, no second capture, no refund of what was not captured. Each event
carries `at` (ISO text from the clock port): the history the API shows.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import Conflict

PURCHASE_NAMESPACE = uuid5(NAMESPACE_URL, "https://aimarket.dev/ns/purchase")
PAID_NAMESPACE = uuid5(NAMESPACE_URL, "https://aimarket.dev/ns/paid-purchases")


class PurchaseKind(StrEnum):
    ONE_OFF = "one_off"
    SUBSCRIPTION = "subscription"


class PurchaseState(StrEnum):
    REQUESTED = "requested"  # nothing charged yet
    PAYMENT_PENDING = "payment_pending"  # the provider is processing; ask it later
    PAYMENT_CAPTURED = "payment_captured"
    PAYMENT_FAILED = "payment_failed"  # final: nothing was taken
    ACCESS_GRANTED = "access_granted"
    COMPLETED = "completed"  # final: paid and entitled
    REFUND_REQUESTED = "refund_requested"  # the grant failed after the capture
    REFUNDED = "refunded"
    CANCELED = "canceled"  # final: refunded, no access


FINAL = frozenset({PurchaseState.PAYMENT_FAILED, PurchaseState.COMPLETED, PurchaseState.CANCELED})


class IllegalPurchaseStep(Conflict):
    code = "illegal_purchase_step"


class Purchase(Aggregate):
    @staticmethod
    def create_id(consumer_id: UUID, idempotency_key: str) -> UUID:
        return uuid5(PURCHASE_NAMESPACE, f"{consumer_id}/{idempotency_key}")

    @event("Requested")
    def __init__(
        self,
        consumer_id: UUID,
        idempotency_key: str,
        model_id: UUID,
        publisher_id: UUID,
        kind: str,
        plan: str | None,
        amount: dict[str, Any],  # Money.as_dict()
        pricing: dict[str, Any],  # the price list in force when asked
        at: str,
    ) -> None:
        self.consumer_id, self.model_id, self.publisher_id = consumer_id, model_id, publisher_id
        self.idempotency_key = idempotency_key
        self.kind, self.plan, self.amount, self.pricing = kind, plan, dict(amount), dict(pricing)
        self.state = PurchaseState.REQUESTED
        self.requested_at = self.updated_at = at
        self.payment_id: str | None = None
        self.pending_since: str | None = None
        self.subscription: dict[str, Any] | None = None  # the provider's id and period
        self.failure: dict[str, str] | None = None
        self.refund_id: str | None = None
        self.reason: str | None = None

    def same_request(self, model_id: UUID, plan: str | None) -> bool:
        return self.model_id == model_id and self.plan == plan

    @property
    def is_final(self) -> bool:
        return self.state in FINAL

    def _check(self, *allowed: PurchaseState) -> None:
        if self.state not in allowed:
            raise IllegalPurchaseStep(f"a purchase that is {self.state} cannot do that")

    def record_pending(
        self, payment_id: str, subscription: dict[str, Any] | None, at: datetime
    ) -> None:
        self._check(PurchaseState.REQUESTED)
        self._pending(payment_id, subscription, at.isoformat())

    @event("PaymentPending")
    def _pending(self, payment_id: str, subscription: dict[str, Any] | None, at: str) -> None:
        self.state, self.payment_id = PurchaseState.PAYMENT_PENDING, payment_id
        self.subscription = subscription
        self.pending_since = self.updated_at = at

    def capture(
        self,
        payment_id: str,
        amount: dict[str, Any],
        subscription: dict[str, Any] | None,
        at: datetime,
    ) -> None:
        """The provider took the money. Only once: a second capture is refused."""
        self._check(PurchaseState.REQUESTED, PurchaseState.PAYMENT_PENDING)
        if self.payment_id is not None and payment_id != self.payment_id:
            raise IllegalPurchaseStep("a purchase is captured by the payment it is waiting on")
        self._captured(payment_id, amount, subscription, at.isoformat())

    @event("PaymentCaptured")
    def _captured(
        self, payment_id: str, amount: dict[str, Any], subscription: dict[str, Any] | None, at: str
    ) -> None:
        self.state, self.payment_id = PurchaseState.PAYMENT_CAPTURED, payment_id
        self.amount = amount
        self.subscription = subscription or self.subscription
        self.updated_at = at

    def fail(self, code: str, message: str, at: datetime) -> None:
        self._check(PurchaseState.REQUESTED, PurchaseState.PAYMENT_PENDING)
        self._failed(code, message, at.isoformat())

    @event("PaymentFailed")
    def _failed(self, code: str, message: str, at: str) -> None:
        self.state, self.failure = PurchaseState.PAYMENT_FAILED, {"code": code, "message": message}
        self.updated_at = at

    def grant(self, at: datetime) -> None:
        """Access follows a capture, never anything else."""
        self._check(PurchaseState.PAYMENT_CAPTURED)
        self._granted(at.isoformat())

    @event("AccessGranted")
    def _granted(self, at: str) -> None:
        self.state, self.updated_at = PurchaseState.ACCESS_GRANTED, at

    def complete(self, at: datetime) -> None:
        self._check(PurchaseState.ACCESS_GRANTED)
        self._completed(at.isoformat())

    @event("Completed")
    def _completed(self, at: str) -> None:
        self.state, self.updated_at = PurchaseState.COMPLETED, at

    def request_refund(self, reason: str, at: datetime) -> None:
        """The grant failed after the money was taken: give it back."""
        self._check(PurchaseState.PAYMENT_CAPTURED)
        self._refund_requested(reason, at.isoformat())

    @event("RefundRequested")
    def _refund_requested(self, reason: str, at: str) -> None:
        self.state, self.reason, self.updated_at = PurchaseState.REFUND_REQUESTED, reason, at

    def refunded(self, refund_id: str, at: datetime) -> None:
        self._check(PurchaseState.REFUND_REQUESTED)
        self._refunded(refund_id, at.isoformat())

    @event("Refunded")
    def _refunded(self, refund_id: str, at: str) -> None:
        self.state, self.refund_id, self.updated_at = PurchaseState.REFUNDED, refund_id, at

    def cancel(self, reason: str, at: datetime) -> None:
        self._check(PurchaseState.REFUNDED)
        self._canceled(reason, at.isoformat())

    @event("Canceled")
    def _canceled(self, reason: str, at: str) -> None:
        self.state, self.reason, self.updated_at = PurchaseState.CANCELED, reason, at


class PaidPurchases(Aggregate):
    """The completed one-off purchases of one consumer for one model: whether they may use
    it is one read by id (uuid5 of consumer and model)."""

    @staticmethod
    def create_id(consumer_id: UUID, model_id: UUID) -> UUID:
        return uuid5(PAID_NAMESPACE, f"{consumer_id}/{model_id}")

    @event("Opened")
    def __init__(self, consumer_id: UUID, model_id: UUID) -> None:
        self.consumer_id, self.model_id = consumer_id, model_id
        self.purchases: list[str] = []

    def add(self, purchase_id: UUID) -> None:
        if str(purchase_id) not in self.purchases:
            self._added(str(purchase_id))

    @event("PurchaseAdded")
    def _added(self, purchase_id: str) -> None:
        self.purchases.append(purchase_id)

    @property
    def any(self) -> bool:
        return bool(self.purchases)
