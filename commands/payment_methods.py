"""Saved cards: a user's customer at the provider (made once) and the cards on it.

The provider calls carry idempotency keys from our ids (the user's id for the customer),
so a save redone after a timeout makes no second customer. Card numbers pass through to
the provider and are never stored or logged: only its ids, the brand and the last four.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from commands.conflicts import CommandHandlers, ConcurrentUpdate
from commands.event_store import EventStore, Written
from commands.payment_ports import PaymentGateway, PaymentMethodRequired
from domain.billing_account import BillingAccount
from domain.errors import NotFound
from domain.principal import Principal
from domain.user import User


class PaymentMethods(CommandHandlers):
    def __init__(self, app: EventStore, gateway: PaymentGateway) -> None:
        self.app, self.gateway = app, gateway

    def add(self, caller: Principal, payment_method: str) -> Written:
        """Save a card at the provider and make it the caller's default."""
        caller.check_verified()
        account = self._account(caller.user_id)
        # The key names the card without holding its number: a hash, as a retry needs.
        digest = hashlib.sha256(payment_method.encode()).hexdigest()[:32]
        saved = self.gateway.save_payment_method(
            account.customer_id,
            payment_method,
            idempotency_key=f"{account.id}:card:{account.version}:{digest}",
        )
        account.add_card(asdict(saved))
        return self.app.write(account)

    def list(self, user_id: UUID) -> list[dict[str, Any]]:
        account = self._find(user_id)
        if account is None:
            return []
        return [{**card, "default": card["id"] == account.default_method} for card in account.cards]

    def payer(self, user_id: UUID) -> tuple[str, str]:
        """The customer and card to charge; 402 `payment_method_required` without one."""
        account = self._find(user_id)
        if account is None or account.default_method is None:
            raise PaymentMethodRequired("add a card first: POST /v1/billing/payment-methods")
        return account.customer_id, account.default_method

    def customer_id(self, user_id: UUID) -> str | None:
        """The user's customer at the provider (invoicing); None before their first card."""
        account = self._find(user_id)
        return None if account is None else account.customer_id

    def _find(self, user_id: UUID) -> BillingAccount | None:
        try:
            return self.app.load(BillingAccount, BillingAccount.create_id(user_id))
        except NotFound:
            return None

    def _account(self, user_id: UUID) -> BillingAccount:
        found = self._find(user_id)
        if found is not None:
            return found
        user = self.app.load(User, user_id)
        user.check_active()
        customer_id = self.gateway.create_customer(
            user_id, user.email, idempotency_key=f"customer:{user_id}"
        )
        account = BillingAccount(user_id=user_id, customer_id=customer_id)
        try:
            self.app.write(account)
        except IntegrityError:  # opened at the same moment by another request: use that
            raise ConcurrentUpdate("your billing account was just opened; try again") from None
        return account
