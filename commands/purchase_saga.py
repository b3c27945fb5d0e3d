"""The purchase saga's steps: given a Purchase as stored, do the next thing it needs.

requested → charge → captured | failed | pending; pending → (past the timeout) ask the
provider; captured → grant → access granted → completed; a grant that fails after the
capture → refund requested → refunded → canceled. Both runners call `advance` (the
embedded thread and the cluster's faust agent); no faust here.

Why nothing is charged twice: every provider call's idempotency key is the purchase id
and the step (`<id>:charge`, `<id>:refund`), so a call made again (a redelivered event, a
crash before the event was saved, two workers at once) gets the provider's first answer,
and the aggregate refuses a second capture; the loser of a race gets a version conflict,
reloads (CommandHandlers) and finds the step done. Why nothing is granted unpaid: the
aggregate grants only from PAYMENT_CAPTURED.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from commands.conflicts import CommandHandlers
from commands.event_store import EventStore
from commands.payment_methods import PaymentMethods
from commands.payment_ports import (
    ChargeRecorder,
    Payment,
    PaymentGateway,
    PaymentStatus,
    PlanPrice,
)
from domain.clock import Clock
from domain.errors import DomainError, InvalidInput, PaymentRequired
from domain.model import Model, ModelStatus
from domain.pricing import Money
from domain.purchase import FINAL, PaidPurchases, Purchase, PurchaseKind, PurchaseState
from domain.subscription import Subscription

log = logging.getLogger("aimarket.purchases")
MAX_STEPS = 10  # the longest path has seven


class GrantFailed(DomainError):
    code = "grant_failed"


class PurchaseSaga(CommandHandlers):
    def __init__(
        self,
        app: EventStore,
        gateway: PaymentGateway,
        methods: PaymentMethods,
        clock: Clock,
        recorder: ChargeRecorder,
        pending_timeout_s: float = 60.0,
        on_final: Callable[[str], object] = lambda _state: None,
    ) -> None:
        self.app, self.gateway, self.methods, self.clock = app, gateway, methods, clock
        self.recorder, self.on_final = recorder, on_final  # on_final: the outcome metrics
        self.pending_timeout = timedelta(seconds=pending_timeout_s)

    def advance(self, purchase_id: UUID) -> str:
        """Take every step the purchase can take now; its state after them. The purchase is
        loaded once: each step's write leaves it as stored, and a write that loses a race
        raises, so the whole advance is retried from a fresh load (CommandHandlers)."""
        purchase = self.app.load(Purchase, purchase_id)
        for _ in range(MAX_STEPS):
            if not self._step(purchase):
                break
        return str(purchase.state)

    def step(self, purchase_id: UUID) -> bool:
        """One step (a provider call and the event that records it) from the purchase as
        stored; False when there is nothing to do now. A step that raises is tried again by
        the runner."""
        return self._step(self.app.load(Purchase, purchase_id))

    def _step(self, purchase: Purchase) -> bool:
        handler = {
            PurchaseState.REQUESTED: self._charge,
            PurchaseState.PAYMENT_PENDING: self._reconcile,
            PurchaseState.PAYMENT_CAPTURED: self._grant,
            PurchaseState.ACCESS_GRANTED: self._complete,
            PurchaseState.REFUND_REQUESTED: self._refund,
            PurchaseState.REFUNDED: self._cancel,
        }.get(purchase.state)
        if handler is None:
            return False
        moved = handler(purchase)
        if purchase.state in FINAL:  # written by this step (a lost race raised instead)
            self.on_final(str(purchase.state))
        return moved

    # Payment

    def _charge(self, purchase: Purchase) -> bool:
        try:
            payment, subscription = self._pay(purchase)
        except (PaymentRequired, InvalidInput) as error:  # no card, or the provider refused it
            purchase.fail(error.code, error.message, self.clock.now())
            self.app.write(purchase)
            return True
        self._record_payment(purchase, payment, subscription)
        return True

    def _pay(self, purchase: Purchase) -> tuple[Payment, dict[str, Any] | None]:
        customer, method = self.methods.payer(purchase.consumer_id)
        amount = Money(**purchase.amount)
        key = f"{purchase.id}:charge"
        subscription: dict[str, Any] | None = None
        if purchase.kind == PurchaseKind.SUBSCRIPTION:
            assert purchase.plan is not None
            created = self.gateway.create_subscription(
                customer,
                method,
                PlanPrice(purchase.model_id, purchase.plan, amount),
                _metadata(purchase),
                idempotency_key=key,
            )
            assert created.latest_payment is not None
            payment = created.latest_payment
            subscription = {
                "id": created.id,
                "period_start": created.current_period_start.isoformat(),
                "period_end": created.current_period_end.isoformat(),
            }
        else:
            payment = self.gateway.charge(
                customer,
                method,
                amount,
                f"aimarket model {purchase.model_id}",
                _metadata(purchase),
                idempotency_key=key,
            )
        return payment, subscription

    def _record_payment(
        self, purchase: Purchase, payment: Payment, subscription: dict[str, Any] | None
    ) -> None:
        now = self.clock.now()
        if payment.status == PaymentStatus.SUCCEEDED:
            purchase.capture(payment.id, payment.amount.as_dict(), subscription, now)
        elif payment.status == PaymentStatus.FAILED:
            code = payment.failure_code or "card_declined"
            purchase.fail(code, payment.failure_message or "", now)
        elif purchase.state == PurchaseState.REQUESTED:
            purchase.record_pending(payment.id, subscription, now)
        else:
            return  # still processing: ask again after another timeout
        self.app.write(purchase)

    def _reconcile(self, purchase: Purchase) -> bool:
        assert purchase.pending_since is not None and purchase.payment_id is not None
        since = datetime.fromisoformat(purchase.pending_since)
        if self.clock.now() - since < self.pending_timeout:
            return False
        payment = self.gateway.retrieve_payment(purchase.payment_id)
        if payment.status == PaymentStatus.PROCESSING:
            return False
        self._record_payment(purchase, payment, purchase.subscription)
        return True

    # Access

    def _grant(self, purchase: Purchase) -> bool:
        now = self.clock.now()
        self.recorder.record_charge(
            str(purchase.id),
            purchase.publisher_id,
            purchase.model_id,
            Money(**purchase.amount),
            now,
        )
        try:
            extra = self._entitle(purchase)
        except DomainError as error:
            log.warning("purchase %s: the grant failed after the capture: %s", purchase.id, error)
            purchase.request_refund(f"{error.code}: {error.message}", now)
            self.app.write(purchase)
            return True
        purchase.grant(now)
        self.app.write(purchase, *extra)
        return True

    def _entitle(self, purchase: Purchase) -> list[Any]:
        """What the grant changes beside the purchase (saved with it, in one write)."""
        model = self.app.load(Model, purchase.model_id)
        if model.status == ModelStatus.DELETED:
            raise GrantFailed("the model was deleted before access could be given")
        if purchase.kind == PurchaseKind.ONE_OFF:
            return []
        assert purchase.plan is not None and purchase.subscription is not None
        plan = _plan(purchase)
        subscription_id = Subscription.create_id(purchase.consumer_id, purchase.model_id)
        try:
            subscription = self.app.load(Subscription, subscription_id)
            subscription.restart(purchase.id, plan)
        except DomainError as error:
            if error.code != "not_found":
                raise
            subscription = Subscription(
                consumer_id=purchase.consumer_id,
                model_id=purchase.model_id,
                publisher_id=purchase.publisher_id,
                purchase_id=purchase.id,
                plan=plan,
            )
        period = purchase.subscription
        subscription.activate(
            period["id"],
            datetime.fromisoformat(period["period_start"]),
            datetime.fromisoformat(period["period_end"]),
        )
        return [subscription]

    def _complete(self, purchase: Purchase) -> bool:
        purchase.complete(self.clock.now())
        if purchase.kind == PurchaseKind.ONE_OFF:
            paid = self._paid(purchase.consumer_id, purchase.model_id)
            paid.add(purchase.id)
            self.app.write(purchase, paid)
        else:
            self.app.write(purchase)
        return True

    def _paid(self, consumer_id: UUID, model_id: UUID) -> PaidPurchases:
        try:
            return self.app.load(PaidPurchases, PaidPurchases.create_id(consumer_id, model_id))
        except DomainError:
            return PaidPurchases(consumer_id=consumer_id, model_id=model_id)

    # Compensation

    def _refund(self, purchase: Purchase) -> bool:
        assert purchase.payment_id is not None
        if purchase.subscription is not None:  # else the provider would renew it monthly
            self.gateway.cancel_subscription(
                purchase.subscription["id"], False, idempotency_key=f"{purchase.id}:unsubscribe"
            )
        refund = self.gateway.refund(
            purchase.payment_id, Money(**purchase.amount), idempotency_key=f"{purchase.id}:refund"
        )
        purchase.refunded(refund.id, self.clock.now())
        self.app.write(purchase)
        return True

    def _cancel(self, purchase: Purchase) -> bool:
        now = self.clock.now()
        self.recorder.record_refund(
            f"{purchase.id}:refund",
            str(purchase.id),
            purchase.publisher_id,
            Money(**purchase.amount),
            now,
        )
        purchase.cancel(purchase.reason or "refunded", now)
        self.app.write(purchase)
        return True


def _metadata(purchase: Purchase) -> dict[str, str]:
    return {
        "purchase_id": str(purchase.id),
        "consumer_id": str(purchase.consumer_id),
        "model_id": str(purchase.model_id),
        "plan": purchase.plan or "",
    }


def _plan(purchase: Purchase) -> dict[str, Any]:
    found = next(p for p in purchase.pricing.get("plans", []) if p["name"] == purchase.plan)
    return {**found, "currency": purchase.pricing["currency"]}
