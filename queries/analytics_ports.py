"""What the analytics queries read: usage and priced spend in quarter-hour slots.

Usage is not event-sourced (a row per call, see commands/metering_ports.py), and the
priced spend is billing's own store: a projection would copy both row for row, so the
queries read them through this port instead (embedded: SQLite; cluster: PostgreSQL)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

SLOT_S = 900  # a quarter hour: every zone's offset in use is a multiple of it


@dataclass(frozen=True)
class CallSlot:
    model_id: UUID
    consumer_id: UUID
    slot: int  # seconds since the epoch // SLOT_S
    currency: str
    calls: int
    errors: int  # failed, timed out or unavailable
    compute_ms: float  # the sum over the calls


@dataclass(frozen=True)
class SpendSlot:
    model_id: UUID
    slot: int
    currency: str
    amount: int  # minor units, as priced for the invoice


class UsageStats(Protocol):
    def calls(
        self, first_slot: int, end_slot: int, consumer_id: UUID | None = None,
        publisher_id: UUID | None = None,
    ) -> list[CallSlot]:  # fmt: skip
        """Calls in slots first..end (end excluded), per model x consumer x slot x currency;
        only the consumer's, or only the publisher's models', when given."""
        ...

    def spend(self, consumer_id: UUID, first_slot: int, end_slot: int) -> list[SpendSlot]:
        """The consumer's priced spend in slots first..end (end excluded)."""
        ...
