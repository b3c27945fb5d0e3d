"""The cluster profile's payment gateway: Stripe, through its SDK (a cluster extra, imported
only here; infra/payments/wiring.py imports this module inside the function that builds it).

Each call passes our idempotency key, so Stripe answers a repeated call as it answered the
first. Stripe's errors become the port's: a declined charge is a FAILED `Payment` (a
declined card on save is `CardDeclined`), a network error, timeout or 5xx is
`ProviderUnavailable` (the key makes the retry safe), a key reused with other parameters
is `IdempotencyKeyReused`.

Every call goes through the `payments` breaker (infra/resilience.py): only
`ProviderUnavailable` counts, never a decline or a 4xx. A call carrying its idempotency key,
and a read, is retried (bounded, jittered) while the provider is unavailable; the key makes
the retry answer what the first call did.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from uuid import UUID

import stripe

from commands.payment_ports import (
    CardDeclined,
    InvoiceLine,
    Payment,
    PlanPrice,
    ProviderSubscription,
    ProviderUnavailable,
    PushedInvoice,
    Refund,
    SavedMethod,
    Transfer,
    same_currency,
)
from commands.tracing import traced_calls
from domain.clock import Clock
from domain.errors import InvalidInput
from domain.pricing import Money
from infra.payments import stripe_mapping as to
from infra.payments.stripe_mapping import Params
from infra.resilience import BreakerOpen, BreakerPolicy, BreakerRegistry, RetryPolicy, retrying


def provider_failed(error: BaseException) -> bool:
    return isinstance(error, ProviderUnavailable)


@traced_calls("payments", **{"payments.provider": "stripe"})
class StripeGateway:
    def __init__(
        self, api_key: str, api_base: str, clock: Clock, timeout_s: float = 10.0,
        breakers: BreakerRegistry | None = None,
    ) -> None:  # fmt: skip
        self.clock = clock
        breakers = breakers or BreakerRegistry(BreakerPolicy(), RetryPolicy())
        self.breaker, self.retry = breakers.get("payments", provider_failed), breakers.retry
        self.client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base},
            max_network_retries=0,  # our callers retry, with the same idempotency key
            http_client=stripe.HTTPXClient(timeout=timeout_s, allow_sync_methods=True),
        )
        self.v1 = self.client.v1

    # Customers and cards

    def create_customer(self, user_id: UUID, email: str, *, idempotency_key: str) -> str:
        params = {"email": email, "metadata": {"user_id": str(user_id)}}
        return str(self._call(self.v1.customers.create, params, idempotency_key)["id"])

    def save_payment_method(
        self, customer_id: str, payment_method: str, *, idempotency_key: str
    ) -> SavedMethod:
        params = {
            "customer": customer_id,
            "payment_method": payment_method,
            "payment_method_types": ["card"],
            "usage": "off_session",
            "confirm": True,
        }
        try:
            intent = self._call(self.v1.setup_intents.create, params, idempotency_key)
        except stripe.CardError as error:
            raise CardDeclined(error.user_message or "your card was declined") from error
        method_id = to.id_of(intent["payment_method"])
        card = self._call(self.v1.payment_methods.retrieve, None, None, method_id)["card"]
        return SavedMethod(
            method_id, card["brand"], card["last4"], card["exp_month"], card["exp_year"]
        )

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
        params = {
            "customer": customer_id,
            "payment_method": payment_method_id,
            "amount": amount.amount,
            "currency": amount.currency.lower(),
            "description": description,
            "metadata": dict(metadata),
            "confirm": True,
            "off_session": True,
        }
        try:
            intent = self._call(self.v1.payment_intents.create, params, idempotency_key)
        except stripe.CardError as error:  # a decline: the intent exists, failed
            return to.declined(error, amount)
        return to.payment(intent)

    def retrieve_payment(self, payment_id: str) -> Payment:
        return to.payment(self._call(self.v1.payment_intents.retrieve, None, None, payment_id))

    def refund(self, payment_id: str, amount: Money, *, idempotency_key: str) -> Refund:
        params = {"payment_intent": payment_id, "amount": amount.amount}
        made = self._call(self.v1.refunds.create, params, idempotency_key)
        return Refund(made["id"], payment_id, amount)

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
        product = self._product(price, idempotency_key)
        params = {
            "customer": customer_id,
            "default_payment_method": payment_method_id,
            "items": [{"price_data": to.price_data(price, product)}],
            "metadata": dict(metadata),
            "payment_behavior": "allow_incomplete",  # a declined first charge: incomplete
            "off_session": True,
            "expand": ["latest_invoice"],
        }
        made = self._call(self.v1.subscriptions.create, params, idempotency_key + ":sub")
        return to.subscription(made)

    def cancel_subscription(
        self, subscription_id: str, at_period_end: bool, *, idempotency_key: str
    ) -> ProviderSubscription:
        key, subs = idempotency_key, self.v1.subscriptions
        if at_period_end:
            made = self._call(subs.update, {"cancel_at_period_end": True}, key, subscription_id)
        else:
            made = self._call(subs.cancel, {}, key, subscription_id)
        return to.subscription(made)

    def change_subscription_plan(
        self, subscription_id: str, price: PlanPrice, *, idempotency_key: str
    ) -> ProviderSubscription:
        current = self._call(self.v1.subscriptions.retrieve, None, None, subscription_id)
        item = current["items"]["data"][0]
        product = self._product(price, idempotency_key)
        params = {
            "items": [{"id": item["id"], "price_data": to.price_data(price, product)}],
            "metadata": {"plan": price.plan},
        }
        key = idempotency_key + ":sub"
        changed = self._call(self.v1.subscriptions.update, params, key, subscription_id)
        return to.subscription(changed)

    # Invoices for metered usage

    def push_invoice(
        self, customer_id: str, lines: list[InvoiceLine], *, idempotency_key: str
    ) -> PushedInvoice:
        if not lines:
            raise InvalidInput("an invoice needs at least one line")
        currency = same_currency(*(line.amount for line in lines))
        invoice_params = {
            "customer": customer_id,
            "collection_method": "charge_automatically",
            "auto_advance": True,
            "currency": currency.lower(),
            "pending_invoice_items_behavior": "exclude",
        }
        invoice = self._call(self.v1.invoices.create, invoice_params, idempotency_key)
        for index, line in enumerate(lines):
            item = {
                "customer": customer_id,
                "invoice": invoice["id"],
                "amount": line.amount.amount,
                "currency": currency.lower(),
                "description": line.description,
                "metadata": dict(line.metadata),
            }
            self._call(self.v1.invoice_items.create, item, f"{idempotency_key}:line{index}")
        key = f"{idempotency_key}:finalize"
        final = self._call(self.v1.invoices.finalize_invoice, {}, key, invoice["id"])
        total = Money(sum(line.amount.amount for line in lines), currency)
        return PushedInvoice(final["id"], str(final["status"]), total)

    # Payouts to publishers (Connect)

    def create_connected_account(self, user_id: UUID, email: str, *, idempotency_key: str) -> str:
        params = {
            "type": "express",
            "email": email,
            "capabilities": {"transfers": {"requested": True}},
            "metadata": {"user_id": str(user_id)},
        }
        return str(self._call(self.v1.accounts.create, params, idempotency_key)["id"])

    def transfer(
        self,
        account_id: str,
        amount: Money,
        metadata: Mapping[str, str],
        *,
        idempotency_key: str,
    ) -> Transfer:
        if amount.amount <= 0:
            raise InvalidInput("a transfer moves more than zero")
        params = {
            "destination": account_id,
            "amount": amount.amount,
            "currency": amount.currency.lower(),
            "metadata": dict(metadata),
        }
        made = self._call(self.v1.transfers.create, params, idempotency_key)
        return Transfer(made["id"], account_id, amount)

    # Inner workings

    def _product(self, price: PlanPrice, idempotency_key: str) -> str:
        params = {
            "name": f"{price.model_id} {price.plan}",
            "metadata": {"model_id": str(price.model_id), "plan": price.plan},
        }
        return str(self._call(self.v1.products.create, params, idempotency_key + ":product")["id"])

    def _call(
        self, method: Callable[..., Any], params: Params | None, key: str | None, *ids: str
    ) -> dict[str, Any]:
        """One SDK call through the breaker, its answer as plain dicts, its errors as the
        port's; retried when it is safe to (a read, or a write with its idempotency key)."""
        options = {"idempotency_key": key} if key else {}

        def once() -> dict[str, Any]:
            with to.mapped_errors():
                if params is None:
                    found = method(*ids, options=options)
                else:
                    found = method(*ids, params=params, options=options)
            return found.to_dict()  # type: ignore[no-any-return]

        retry = self.retry if key or params is None else RetryPolicy(attempts=1)
        try:
            return retrying(self.breaker, retry, once, provider_failed)
        except BreakerOpen as open_:
            raise ProviderUnavailable(
                "the payment provider is failing; calls are paused for a moment",
                retry_after_s=open_.retry_after_s,
            ) from None

    def ping(self) -> None:
        """A cheap read for /v1/ready (the account's balance), outside the breaker."""
        with to.mapped_errors():
            self.v1.balance.retrieve()
