"""The payment gateway port: what billing asks of a payment provider (Stripe in the
cluster, a simulated gateway with Stripe test-mode semantics when embedded).

Every call that moves money or creates something takes an idempotency key derived from
our own ids (a purchase id, an invoice id, a payout id), so a call made again after a
crash or a timeout returns what the first one did and never charges twice; the same key
with other parameters is refused (`IdempotencyKeyReused`). Amounts are `Money`: integer
minor units with an ISO currency.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol
from uuid import UUID

from domain.errors import Conflict, InvalidInput, PaymentRequired, Unavailable
from domain.pricing import Money


class CardDeclined(PaymentRequired):
    code = "card_declined"


class InsufficientFunds(CardDeclined):
    code = "insufficient_funds"


class PaymentMethodRequired(PaymentRequired):
    code = "payment_method_required"


class InvalidPaymentMethod(InvalidInput):
    code = "invalid_payment_method"


class ProviderUnavailable(Unavailable):
    """A timeout or a 5xx: the call may or may not have taken effect. Try again with the
    same idempotency key, which answers what the first call did."""

    code = "payment_provider_unavailable"


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"


class CurrencyMismatch(InvalidInput):
    code = "currency_mismatch"


class PaymentStatus(StrEnum):
    SUCCEEDED = "succeeded"
    PROCESSING = "processing"  # pending: ask again later (reconciliation)
    FAILED = "failed"


class SubscriptionState(StrEnum):
    INCOMPLETE = "incomplete"
    ACTIVE = "active"
    PAST_DUE = "past_due"
    CANCELED = "canceled"


@dataclass(frozen=True)
class SavedMethod:
    id: str  # the provider's payment method id, e.g. pm_...
    brand: str
    last4: str
    exp_month: int
    exp_year: int


@dataclass(frozen=True)
class Payment:
    id: str  # the provider's payment (PaymentIntent) id
    status: PaymentStatus
    amount: Money
    failure_code: str | None = None  # card_declined, insufficient_funds, ...
    failure_message: str | None = None


@dataclass(frozen=True)
class Refund:
    id: str
    payment_id: str
    amount: Money


@dataclass(frozen=True)
class PlanPrice:
    """A model's monthly plan as the provider bills it."""

    model_id: UUID
    plan: str
    monthly: Money


@dataclass(frozen=True)
class ProviderSubscription:
    id: str
    status: SubscriptionState
    current_period_start: datetime
    current_period_end: datetime
    cancel_at_period_end: bool = False
    latest_payment: Payment | None = None


@dataclass(frozen=True)
class InvoiceLine:
    description: str
    amount: Money
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PushedInvoice:
    id: str
    status: str  # the provider's: draft, open, paid, ...
    total: Money


@dataclass(frozen=True)
class Transfer:
    id: str
    destination: str  # the connected account
    amount: Money


class PaymentGateway(Protocol):
    # Customers and their cards
    def create_customer(self, user_id: UUID, email: str, *, idempotency_key: str) -> str:
        """The provider's customer id for our user."""
        ...

    def save_payment_method(
        self, customer_id: str, payment_method: str, *, idempotency_key: str
    ) -> SavedMethod:
        """Attach a card (a token such as `pm_card_visa`) for later off-session charges
        (a SetupIntent, confirmed). Raises `CardDeclined` or `InvalidPaymentMethod`."""
        ...

    # One-off charges
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
        """Charge a saved card now (a PaymentIntent, confirmed off session). A decline is
        a `Payment` with status FAILED and its failure code, not an exception."""
        ...

    def retrieve_payment(self, payment_id: str) -> Payment: ...

    def refund(self, payment_id: str, amount: Money, *, idempotency_key: str) -> Refund: ...

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
        """Start a monthly subscription, charging its first period now; a declined first
        charge leaves it INCOMPLETE with `latest_payment` FAILED."""
        ...

    def cancel_subscription(
        self, subscription_id: str, at_period_end: bool, *, idempotency_key: str
    ) -> ProviderSubscription: ...

    def change_subscription_plan(
        self, subscription_id: str, price: PlanPrice, *, idempotency_key: str
    ) -> ProviderSubscription:
        """Move to another plan; proration is the provider's."""
        ...

    # Invoices for metered usage, pushed at period close
    def push_invoice(
        self, customer_id: str, lines: list[InvoiceLine], *, idempotency_key: str
    ) -> PushedInvoice: ...

    # Payouts to publishers (Connect)
    def create_connected_account(
        self, user_id: UUID, email: str, *, idempotency_key: str
    ) -> str: ...

    def transfer(
        self,
        account_id: str,
        amount: Money,
        metadata: Mapping[str, str],
        *,
        idempotency_key: str,
    ) -> Transfer: ...


class ChargeRecorder(Protocol):
    """Where captured charges and their refunds are posted: the publishers' ledger. Both
    are idempotent by `transaction_id` (a purchase's capture, a renewal's invoice)."""

    def record_charge(
        self, transaction_id: str, publisher_id: UUID, model_id: UUID, gross: Money, at: datetime
    ) -> None: ...

    def record_refund(
        self,
        transaction_id: str,
        charge_transaction_id: str,
        publisher_id: UUID,
        amount: Money,
        at: datetime,
    ) -> None: ...


def same_currency(*amounts: Money) -> str:
    """The one currency of these amounts; mixing currencies is refused."""
    currencies = {a.currency for a in amounts}
    if len(currencies) != 1:
        raise CurrencyMismatch(f"amounts in different currencies: {sorted(currencies)}")
    return currencies.pop()
