"""Stripe's answers and errors as the payment port's types (for infra/payments/
stripe_gateway.py): objects arrive as plain dicts (`StripeObject.to_dict()`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import stripe

from commands.payment_ports import (
    IdempotencyKeyReused,
    InvalidPaymentMethod,
    Payment,
    PaymentStatus,
    PlanPrice,
    ProviderSubscription,
    ProviderUnavailable,
    SubscriptionState,
    UnknownAtProvider,
)
from domain.errors import InvalidInput
from domain.pricing import Money

Params = dict[str, Any]
_STATUSES = {
    "succeeded": PaymentStatus.SUCCEEDED,
    "processing": PaymentStatus.PROCESSING,
    "requires_capture": PaymentStatus.PROCESSING,
}
_SUBSCRIPTION_STATES = {
    "active": SubscriptionState.ACTIVE,
    "trialing": SubscriptionState.ACTIVE,
    "past_due": SubscriptionState.PAST_DUE,
    "unpaid": SubscriptionState.PAST_DUE,
    "canceled": SubscriptionState.CANCELED,
    "incomplete_expired": SubscriptionState.CANCELED,
}


@contextmanager
def mapped_errors() -> Iterator[None]:
    try:
        yield
    except stripe.IdempotencyError as error:
        raise IdempotencyKeyReused(error.user_message or str(error)) from error
    except (stripe.APIConnectionError, stripe.RateLimitError) as error:
        raise ProviderUnavailable(f"Stripe did not answer: {type(error).__name__}") from error
    except (stripe.AuthenticationError, stripe.PermissionError) as error:
        # Our configuration, not the caller's request: payments are down until it is fixed.
        raise ProviderUnavailable("Stripe refused our API key") from error
    except stripe.InvalidRequestError as error:
        raise _invalid(error) from error
    except stripe.StripeError as error:
        if isinstance(error, stripe.CardError):
            raise
        if (error.http_status or 500) >= 500 or isinstance(error, stripe.APIError):
            raise ProviderUnavailable(f"Stripe answered {error.http_status}") from error
        raise


def _invalid(error: stripe.InvalidRequestError) -> Exception:
    message = error.user_message or str(error)
    if error.code == "resource_missing":
        if error.param == "payment_method":
            return InvalidPaymentMethod(message)
        return UnknownAtProvider(message)
    return InvalidInput(message, code="payment_request_invalid")


def declined(error: stripe.CardError, amount: Money) -> Payment:
    body = error.json_body or {}
    detail = body.get("error", {}) if isinstance(body, dict) else {}
    intent = detail.get("payment_intent") or {}
    code = detail.get("decline_code") or error.code or "card_declined"
    return Payment(
        str(intent.get("id") or ""), PaymentStatus.FAILED, amount, code, error.user_message
    )


def payment(intent: dict[str, Any]) -> Payment:
    amount = Money(int(intent["amount"]), str(intent["currency"]).upper())
    status = _STATUSES.get(str(intent["status"]), PaymentStatus.FAILED)
    if status != PaymentStatus.FAILED:
        return Payment(intent["id"], status, amount)
    last_error = intent.get("last_payment_error") or {}
    code = last_error.get("decline_code") or last_error.get("code") or str(intent["status"])
    return Payment(intent["id"], status, amount, code, last_error.get("message"))


def price_data(price: PlanPrice, product: str) -> Params:
    return {
        "currency": price.monthly.currency.lower(),
        "product": product,
        "unit_amount": price.monthly.amount,
        "recurring": {"interval": "month"},
    }


def subscription(sub: dict[str, Any]) -> ProviderSubscription:
    # Stripe's API since 2025-03 keeps the period on the subscription's items.
    item = (sub.get("items") or {}).get("data") or [{}]
    start = sub.get("current_period_start") or item[0].get("current_period_start")
    end = sub.get("current_period_end") or item[0].get("current_period_end")
    state = _SUBSCRIPTION_STATES.get(str(sub["status"]), SubscriptionState.INCOMPLETE)
    return ProviderSubscription(
        id=sub["id"],
        status=state,
        current_period_start=_time(start),
        current_period_end=_time(end),
        cancel_at_period_end=bool(sub.get("cancel_at_period_end")),
        latest_payment=_invoice_payment(sub.get("latest_invoice"), state),
    )


def _invoice_payment(invoice: Any, state: SubscriptionState) -> Payment | None:
    """The first period's payment, as the subscription's latest invoice tells it."""
    if not isinstance(invoice, dict):
        return None
    amount = Money(int(invoice.get("amount_due") or 0), str(invoice["currency"]).upper())
    if invoice.get("status") == "paid" or state == SubscriptionState.ACTIVE:
        return Payment(invoice["id"], PaymentStatus.SUCCEEDED, amount)
    return Payment(invoice["id"], PaymentStatus.FAILED, amount, "card_declined")


def _time(stamp: Any) -> datetime:
    return datetime.fromtimestamp(int(stamp or 0), UTC)


def id_of(found: Any) -> str:
    return str(found["id"] if isinstance(found, dict) else found)
