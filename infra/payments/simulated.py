"""The embedded profile's payment gateway: Stripe's test-mode semantics, in memory.

- Test cards (infra/payments/cards.py): 4242… succeeds, 0002 is declined, 9995 has
  insufficient funds, 0341 saves but fails every later charge.
- Idempotency keys: the same key with the same parameters answers what the first call
  did (its result or its decline); with other parameters it is refused.
- Faults for tests (`faults`): a timeout after the call took effect, a transient 5xx
  before it did, a payment left processing until `settle`.
- Subscriptions renew when `advance` moves past their period; each change is a
  Stripe-shaped event in `events`, for the webhook intake.

State lives in this object: a restarted process starts with an empty provider, as
stripe-mock does. Thread-safe: every call holds one lock.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from commands.payment_ports import (
    CardDeclined,
    IdempotencyKeyReused,
    InvalidPaymentMethod,
    InvoiceLine,
    Payment,
    PaymentStatus,
    PlanPrice,
    ProviderSubscription,
    ProviderUnavailable,
    PushedInvoice,
    Refund,
    SavedMethod,
    SubscriptionState,
    Transfer,
    UnknownAtProvider,
    same_currency,
)
from commands.tracing import traced_calls
from domain.clock import Clock
from domain.errors import DomainError, InvalidInput
from domain.pricing import Money, add_month
from infra.payments.cards import SimCard, card_for

T = TypeVar("T")
RENEWAL_ATTEMPTS = 3  # failed renewals before the subscription is canceled (dunning)


@dataclass
class Faults:
    """What the next calls of an operation (`charge`, `refund`, ...) do wrong, in order:
    `timeout_after_success`, `transient_5xx` or, for charges, `processing`."""

    planned: dict[str, list[str]] = field(default_factory=dict)

    def inject(self, operation: str, *faults: str) -> None:
        self.planned.setdefault(operation, []).extend(faults)

    def next(self, operation: str) -> str | None:
        waiting = self.planned.get(operation)
        return waiting.pop(0) if waiting else None


@dataclass
class _Subscription:
    record: ProviderSubscription
    customer_id: str
    payment_method_id: str
    price: PlanPrice
    metadata: dict[str, str]
    failed_renewals: int = 0


@traced_calls("payments", **{"payments.provider": "simulated"})
class SimulatedGateway:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.faults = Faults()
        self.events: list[dict[str, Any]] = []  # Stripe-shaped, oldest first
        self.customers: dict[str, UUID] = {}
        self.methods: dict[str, tuple[str, SimCard]] = {}  # pm id -> (customer, card)
        self.payments: dict[str, Payment] = {}
        self.refunds: dict[str, Refund] = {}
        self.subscriptions: dict[str, _Subscription] = {}
        self.invoices: dict[str, tuple[str, list[InvoiceLine], PushedInvoice]] = {}
        self.accounts: dict[str, UUID] = {}
        self.transfers: dict[str, Transfer] = {}
        self._answers: dict[str, tuple[str, object, Callable[[], Any]]] = {}
        self._lock = threading.RLock()
        self._next_processing = False  # the `processing` fault, for the charge under way

    # Customers and cards

    def create_customer(self, user_id: UUID, email: str, *, idempotency_key: str) -> str:
        def create() -> str:
            customer_id = _new_id("cus")
            self.customers[customer_id] = user_id
            return customer_id

        return self._once("create_customer", idempotency_key, (user_id, email), create)

    def save_payment_method(
        self, customer_id: str, payment_method: str, *, idempotency_key: str
    ) -> SavedMethod:
        def save() -> SavedMethod:
            self._customer(customer_id)
            card = card_for(payment_method)
            if card.declines_on_save:
                raise CardDeclined("your card was declined")
            method_id = _new_id("pm")
            self.methods[method_id] = (customer_id, card)
            year = self.clock.now().year + 3
            return SavedMethod(method_id, card.brand, card.number[-4:], 12, year)

        params = (customer_id, payment_method)
        return self._once("save_payment_method", idempotency_key, params, save)

    # Charges and refunds

    def charge(
        self,
        customer_id: str,
        payment_method_id: str,
        amount: Money,
        description: str,
        metadata: Mapping[str, str],
        *,
        idempotency_key: str,
    ) -> Payment:
        params = (customer_id, payment_method_id, amount, description, dict(metadata))
        return self._once(
            "charge",
            idempotency_key,
            params,
            lambda: self._charge(customer_id, payment_method_id, amount),
        )

    def retrieve_payment(self, payment_id: str) -> Payment:
        with self._lock:
            found = self.payments.get(payment_id)
        if found is None:
            raise UnknownAtProvider(f"no payment {payment_id}")
        return found

    def settle(self, payment_id: str, succeeded: bool) -> Payment:
        """A processing payment ends (the test's hand, as the card network's)."""
        with self._lock:
            payment = self.payments[payment_id]
            status = PaymentStatus.SUCCEEDED if succeeded else PaymentStatus.FAILED
            code = None if succeeded else "card_declined"
            self.payments[payment_id] = replace(payment, status=status, failure_code=code)
            return self.payments[payment_id]

    def refund(self, payment_id: str, amount: Money, *, idempotency_key: str) -> Refund:
        def refund() -> Refund:
            payment = self.retrieve_payment(payment_id)
            same_currency(payment.amount, amount)
            refunded = sum(
                r.amount.amount for r in self.refunds.values() if r.payment_id == payment_id
            )
            if payment.status != PaymentStatus.SUCCEEDED:
                raise InvalidInput("only a succeeded payment can be refunded")
            if not 0 < amount.amount <= payment.amount.amount - refunded:
                raise InvalidInput("a refund is more than zero and no more than is left")
            made = Refund(_new_id("re"), payment_id, amount)
            self.refunds[made.id] = made
            return made

        return self._once("refund", idempotency_key, (payment_id, amount), refund)

    # Subscriptions

    def create_subscription(
        self,
        customer_id: str,
        payment_method_id: str,
        price: PlanPrice,
        metadata: Mapping[str, str],
        *,
        idempotency_key: str,
    ) -> ProviderSubscription:
        def create() -> ProviderSubscription:
            first = self._charge(customer_id, payment_method_id, price.monthly)
            start = self.clock.now()
            paid = first.status == PaymentStatus.SUCCEEDED
            state = SubscriptionState.ACTIVE if paid else SubscriptionState.INCOMPLETE
            record = ProviderSubscription(
                _new_id("sub"), state, start, add_month(start), latest_payment=first
            )
            self.subscriptions[record.id] = _Subscription(
                record, customer_id, payment_method_id, price, dict(metadata)
            )
            self._emit("customer.subscription.created", self._subscription_object(record.id))
            return record

        params = (customer_id, payment_method_id, price, dict(metadata))
        return self._once("create_subscription", idempotency_key, params, create)

    def cancel_subscription(
        self, subscription_id: str, at_period_end: bool, *, idempotency_key: str
    ) -> ProviderSubscription:
        def cancel() -> ProviderSubscription:
            held = self._subscription(subscription_id)
            if at_period_end:
                self._update(held, cancel_at_period_end=True)
            else:
                self._end(held)
            return held.record

        params = (subscription_id, at_period_end)
        return self._once("cancel_subscription", idempotency_key, params, cancel)

    def change_subscription_plan(
        self, subscription_id: str, price: PlanPrice, *, idempotency_key: str
    ) -> ProviderSubscription:
        def change() -> ProviderSubscription:
            held = self._subscription(subscription_id)
            same_currency(held.price.monthly, price.monthly)
            held.price = price  # proration is the provider's business: none here
            self._update(held)
            return held.record

        params = (subscription_id, price)
        return self._once("change_subscription_plan", idempotency_key, params, change)

    def set_default_payment_method(self, subscription_id: str, payment_method_id: str) -> None:
        """The card later renewals charge (Stripe: update `default_payment_method`)."""
        with self._lock:
            held = self._subscription(subscription_id)
            if self.methods.get(payment_method_id, ("",))[0] != held.customer_id:
                raise InvalidPaymentMethod("that payment method is not this customer's")
            held.payment_method_id = payment_method_id

    def advance(self, to: datetime) -> None:
        """Renew every subscription whose period ended by `to` (the clock has moved)."""
        with self._lock:
            for held in list(self.subscriptions.values()):
                while (
                    held.record.status in (SubscriptionState.ACTIVE, SubscriptionState.PAST_DUE)
                    and held.record.current_period_end <= to
                ):
                    if not self._renew(held):
                        break

    # Invoices and payouts

    def push_invoice(
        self, customer_id: str, lines: list[InvoiceLine], *, idempotency_key: str
    ) -> PushedInvoice:
        """Charged at once to the customer's newest card, as Stripe collects a finalized
        invoice automatically: `paid`, or `open` with `invoice.payment_failed`."""

        def push() -> PushedInvoice:
            self._customer(customer_id)
            if not lines:
                raise InvalidInput("an invoice needs at least one line")
            currency = same_currency(*(line.amount for line in lines))
            total = Money(sum(line.amount.amount for line in lines), currency)
            cards = [pm for pm, (owner, _) in self.methods.items() if owner == customer_id]
            payment = self._charge(customer_id, cards[-1], total) if cards else None
            paid = payment is not None and payment.status == PaymentStatus.SUCCEEDED
            invoice = PushedInvoice(_new_id("in"), "paid" if paid else "open", total)
            self.invoices[invoice.id] = (customer_id, list(lines), invoice)
            self._emit(
                "invoice.paid" if paid else "invoice.payment_failed",
                _usage_invoice_object(invoice, customer_id, lines),
            )
            return invoice

        params = (customer_id, [(ln.description, ln.amount, dict(ln.metadata)) for ln in lines])
        return self._once("push_invoice", idempotency_key, params, push)

    def create_connected_account(self, user_id: UUID, email: str, *, idempotency_key: str) -> str:
        def create() -> str:
            account_id = _new_id("acct")
            self.accounts[account_id] = user_id
            return account_id

        return self._once("create_connected_account", idempotency_key, (user_id, email), create)

    def transfer(
        self,
        account_id: str,
        amount: Money,
        metadata: Mapping[str, str],
        *,
        idempotency_key: str,
    ) -> Transfer:
        def transfer() -> Transfer:
            if account_id not in self.accounts:
                raise UnknownAtProvider(f"no connected account {account_id}")
            if amount.amount <= 0:
                raise InvalidInput("a transfer moves more than zero")
            made = Transfer(_new_id("tr"), account_id, amount)
            self.transfers[made.id] = made
            return made

        params = (account_id, amount, dict(metadata))
        return self._once("transfer", idempotency_key, params, transfer)

    # Inner workings

    def _once(self, operation: str, key: str, params: object, call: Callable[[], T]) -> T:
        """Stripe's idempotency: the first answer to a key, result or decline, is the answer
        to every later call with it; other parameters under the same key are refused."""
        if not key or len(key) > 255:
            raise InvalidInput("an idempotency key is 1 to 255 characters")
        with self._lock:
            fault = self.faults.next(operation)
            if fault == "transient_5xx":
                raise ProviderUnavailable("the payment provider answered 500; try again")
            answered = self._answers.get(key)
            if answered is not None:
                if answered[:2] != (operation, params):
                    raise IdempotencyKeyReused(
                        f"idempotency key {key!r} was used with other parameters"
                    )
                return answered[2]()  # type: ignore[no-any-return]
            self._next_processing = fault == "processing"
            answer = _remembered(call)
            self._answers[key] = (operation, params, answer)
            result = answer()
            if fault == "timeout_after_success":
                raise ProviderUnavailable("the payment provider did not answer in time")
            return result

    def _charge(self, customer_id: str, method_id: str, amount: Money) -> Payment:
        self._customer(customer_id)
        owner, card = self.methods.get(method_id, (None, None))
        if owner != customer_id or card is None:
            raise InvalidPaymentMethod("that payment method is not this customer's")
        payment_id = _new_id("pi")
        if self._next_processing:
            self._next_processing = False
            payment = Payment(payment_id, PaymentStatus.PROCESSING, amount)
        elif card.declines_on_charge:
            code = card.declines_on_charge
            message = (
                "your card has insufficient funds"
                if code == "insufficient_funds"
                else ("your card was declined")
            )
            payment = Payment(payment_id, PaymentStatus.FAILED, amount, code, message)
        else:
            payment = Payment(payment_id, PaymentStatus.SUCCEEDED, amount)
        self.payments[payment_id] = payment
        return payment

    def _renew(self, held: _Subscription) -> bool:
        record = held.record
        if record.cancel_at_period_end:
            self._end(held)
            return False
        payment = self._charge(held.customer_id, held.payment_method_id, held.price.monthly)
        invoice = self._renewal_invoice(held, payment)
        if payment.status == PaymentStatus.SUCCEEDED:
            held.failed_renewals = 0
            start = record.current_period_end
            self._update(
                held,
                status=SubscriptionState.ACTIVE,
                current_period_start=start,
                current_period_end=add_month(start),
                latest_payment=payment,
            )
            self._emit("invoice.paid", invoice)
            return True
        held.failed_renewals += 1
        self._emit("invoice.payment_failed", invoice)
        if held.failed_renewals >= RENEWAL_ATTEMPTS:
            self._end(held)
        else:
            self._update(held, status=SubscriptionState.PAST_DUE, latest_payment=payment)
        return False

    def _end(self, held: _Subscription) -> None:
        held.record = replace(held.record, status=SubscriptionState.CANCELED)
        self._emit("customer.subscription.deleted", self._subscription_object(held.record.id))

    def _update(self, held: _Subscription, **changes: Any) -> None:
        held.record = replace(held.record, **changes)
        self._emit("customer.subscription.updated", self._subscription_object(held.record.id))

    def _subscription_object(self, subscription_id: str) -> dict[str, Any]:
        held = self.subscriptions.get(subscription_id)
        record = held.record if held else None
        assert held is not None and record is not None
        return {
            "id": record.id,
            "object": "subscription",
            "customer": held.customer_id,
            "status": record.status.value,
            "current_period_start": int(record.current_period_start.timestamp()),
            "current_period_end": int(record.current_period_end.timestamp()),
            "cancel_at_period_end": record.cancel_at_period_end,
            "metadata": held.metadata,
            "plan": {"nickname": held.price.plan, "amount": held.price.monthly.amount},
        }

    def _renewal_invoice(self, held: _Subscription, payment: Payment) -> dict[str, Any]:
        start = held.record.current_period_end
        return {
            "id": _new_id("in"),
            "object": "invoice",
            "customer": held.customer_id,
            "subscription": held.record.id,
            "payment_intent": payment.id,
            "amount_due": payment.amount.amount,
            "amount_paid": payment.amount.amount if payment.status == "succeeded" else 0,
            "currency": payment.amount.currency.lower(),
            "period_start": int(start.timestamp()),
            "period_end": int(add_month(start).timestamp()),
            "attempt_count": held.failed_renewals + 1,
            "subscription_details": {"metadata": held.metadata},
        }

    def _emit(self, kind: str, obj: dict[str, Any]) -> None:
        self.events.append(
            {
                "id": _new_id("evt"),
                "object": "event",
                "type": kind,
                "created": int(self.clock.now().timestamp()),
                "data": {"object": obj},
            }
        )

    def _customer(self, customer_id: str) -> None:
        if customer_id not in self.customers:
            raise UnknownAtProvider(f"no customer {customer_id}")

    def _subscription(self, subscription_id: str) -> _Subscription:
        held = self.subscriptions.get(subscription_id)
        if held is None:
            raise UnknownAtProvider(f"no subscription {subscription_id}")
        return held


def _usage_invoice_object(
    invoice: PushedInvoice, customer_id: str, lines: list[InvoiceLine]
) -> dict[str, Any]:
    return {
        "id": invoice.id,
        "object": "invoice",
        "customer": customer_id,
        "subscription": None,
        "status": invoice.status,
        "currency": invoice.total.currency.lower(),
        "amount_due": invoice.total.amount,
        "amount_paid": invoice.total.amount if invoice.status == "paid" else 0,
        "lines": {
            "data": [{"amount": ln.amount.amount, "metadata": dict(ln.metadata)} for ln in lines]
        },
    }


def _remembered(call: Callable[[], T]) -> Callable[[], T]:
    """Run `call` now; the returned function answers the same, result or error, again."""
    try:
        result = call()
    except DomainError as error:
        failure = error

        def fail() -> T:
            raise failure

        return fail
    return lambda: result


def _new_id(prefix: str) -> str:
    return f"{prefix}_sim{secrets.token_hex(8)}"
