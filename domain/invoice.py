"""The Invoice aggregate: one consumer's metered usage of one billing period, in one
currency, with a line per model.

Addressed by a uuid5 of (consumer, period, currency), so closing a period twice finds
the invoice the first close drafted: an invoice is drafted once, pushed to the payment
provider once (the provider's idempotency key is the invoice id), paid once.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import InvalidInput

INVOICE_NAMESPACE = uuid5(NAMESPACE_URL, "https://aimarket.dev/ns/invoice")


class InvoiceStatus(StrEnum):
    DRAFT = "draft"  # drafted from usage, not at the provider yet
    OPEN = "open"  # pushed: the provider collects it
    PAID = "paid"


class Invoice(Aggregate):
    @staticmethod
    def create_id(consumer_id: UUID, period: str, currency: str) -> UUID:
        return uuid5(INVOICE_NAMESPACE, f"{consumer_id}/{period}/{currency}")

    @event("Drafted")
    def __init__(
        self,
        consumer_id: UUID,
        period: str,  # YYYY-MM
        currency: str,
        lines: list[dict[str, Any]],  # {model_id, publisher_id, description, units, amount}
        drafted_at: str,
    ) -> None:
        if not lines or any(int(line["amount"]) < 0 for line in lines):
            raise InvalidInput("an invoice has at least one line and no negative amounts")
        self.consumer_id, self.period, self.currency = consumer_id, period, currency
        self.lines = [dict(line) for line in lines]
        self.total = sum(int(line["amount"]) for line in lines)
        self.drafted_at = drafted_at
        self.status = InvoiceStatus.DRAFT
        self.provider_id: str | None = None
        self.paid_at: str | None = None

    def mark_pushed(self, provider_id: str) -> None:
        if self.status != InvoiceStatus.DRAFT:
            return  # pushed already: a close run again
        self._pushed(provider_id)

    @event("Pushed")
    def _pushed(self, provider_id: str) -> None:
        self.provider_id, self.status = provider_id, InvoiceStatus.OPEN

    def mark_paid(self, at: datetime) -> bool:
        """False when it was paid already (a webhook delivered twice)."""
        if self.status == InvoiceStatus.PAID:
            return False
        self._paid(at.isoformat())
        return True

    @event("Paid")
    def _paid(self, at: str) -> None:
        self.status, self.paid_at = InvoiceStatus.PAID, at
