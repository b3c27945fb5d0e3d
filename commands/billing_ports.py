"""Billing usage's ports: the priced usage per day (`billing_usage`), and what plans
include (subscriptions are billing's other half: they hand in their own)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from commands.billing_pricing import PricedCall
from commands.metering_ports import UsageRecord


class PlanAllowances(Protocol):
    def included_requests(self, consumer_id: UUID, model_id: UUID, month: str) -> int:
        """Requests the consumer's plan for this model includes in the month (YYYY-MM)."""
        ...


class NoPlanAllowances:
    """Until subscriptions are wired in, no plan includes anything."""

    def included_requests(self, consumer_id: UUID, model_id: UUID, month: str) -> int:
        return 0


@dataclass(frozen=True)
class BilledDay:
    model_id: UUID
    day: str  # YYYY-MM-DD, UTC
    currency: str
    calls: int
    billable_units: int
    amount: int  # minor units


@dataclass(frozen=True)
class BilledMonth:
    consumer_id: UUID
    model_id: UUID
    currency: str
    billable_units: int
    amount: int  # minor units


class Pricer(Protocol):
    def __call__(
        self, records: Sequence[UsageRecord], counted: dict[tuple[UUID, UUID, str], int]
    ) -> list[PricedCall]: ...


class BillingUsageStore(Protocol):
    """Priced usage: one row per consumer x model x day x currency, the month's counted
    units per consumer x model, and spend per consumer x key x month; each request id
    priced once, whatever is redelivered."""

    def days(self, consumer_id: UUID, first_day: str, last_day: str) -> list[BilledDay]:
        """The consumer's billed days from first to last (inclusive), by day then model."""
        ...

    def spent(self, consumer_id: UUID, api_key_id: UUID | None, month: str, currency: str) -> int:
        """Billed this month: the account's whole spend, or one key's (`api_key_id`)."""
        ...

    def month_totals(self, month: str) -> list[BilledMonth]:
        """Every consumer x model x currency billed in the month (YYYY-MM): period close."""
        ...
