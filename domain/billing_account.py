"""The BillingAccount aggregate: one user's customer at the payment provider and the
cards saved there (uuid5 of the user id, so it is one read by id).

Never a card number: only the provider's ids, the brand, the last four digits and the
expiry, which is what a list of cards shows.
"""

from __future__ import annotations

from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

BILLING_NAMESPACE = uuid5(NAMESPACE_URL, "https://aimarket.dev/ns/billing-account")


class BillingAccount(Aggregate):
    @staticmethod
    def create_id(user_id: UUID) -> UUID:
        return uuid5(BILLING_NAMESPACE, str(user_id))

    @event("Opened")
    def __init__(self, user_id: UUID, customer_id: str) -> None:
        self.user_id, self.customer_id = user_id, customer_id
        self.cards: list[dict[str, Any]] = []  # {id, brand, last4, exp_month, exp_year}
        self.default_method: str | None = None

    def add_card(self, card: dict[str, Any]) -> None:
        """Save a card (as the provider describes it) and make it the default."""
        if all(c["id"] != card["id"] for c in self.cards) or self.default_method != card["id"]:
            self._card_added(card)

    @event("CardAdded")
    def _card_added(self, card: dict[str, Any]) -> None:
        if all(c["id"] != card["id"] for c in self.cards):
            self.cards.append(dict(card))
        self.default_method = card["id"]
