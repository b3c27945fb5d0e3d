"""What the analytics queries read: calls grouped by local day in the database, and priced
spend in quarter-hour slots.

Usage is not event-sourced (a row per call, see commands/metering_ports.py), and the
priced spend is billing's own store: a projection would copy both row for row, so the
queries read them through this port instead (embedded: SQLite; cluster: PostgreSQL)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

SLOT_S = 900  # a quarter hour: every zone's offset in use is a multiple of it
DAY_S = 86_400


@dataclass(frozen=True)
class DayRun:
    """Whole local days from `lo` to `hi` (epoch seconds, `hi` excluded), with one UTC
    offset throughout: a call's day number is (its epoch second + offset) // DAY_S. A day
    a clock change falls in is a run of its own with its number fixed in `day`."""

    lo: int
    hi: int
    offset: int = 0
    day: int | None = None


@dataclass(frozen=True)
class DayCalls:
    day: int  # days since the epoch, in the report's zone
    model_id: UUID | None  # None: every model together
    currency: str
    calls: int
    errors: int  # failed, timed out or unavailable
    compute_ms: float  # the sum over the calls
    consumers: int  # distinct callers


@dataclass(frozen=True)
class ModelCalls:
    model_id: UUID
    calls: int
    errors: int
    compute_ms: float
    consumers: int


@dataclass(frozen=True)
class SpendSlot:
    model_id: UUID
    slot: int  # epoch seconds // SLOT_S
    currency: str
    amount: int  # minor units, as priced for the invoice


@dataclass(frozen=True)
class Who:
    """Whose calls: one consumer's, one publisher's models', or (both None) everyone's."""

    consumer_id: UUID | None = None
    publisher_id: UUID | None = None


class UsageStats(Protocol):
    def days(self, runs: Sequence[DayRun], who: Who, by_model: bool = True) -> list[DayCalls]:
        """Calls per local day (x model when `by_model`) x currency."""
        ...

    def models(self, lo: int, hi: int, who: Who, limit: int) -> list[ModelCalls]:
        """The models with most calls from `lo` to `hi` (epoch seconds), most first."""
        ...

    def consumers(self, lo: int, hi: int, who: Who) -> int:
        """Distinct callers from `lo` to `hi`."""
        ...

    def spend(self, consumer_id: UUID, first_slot: int, end_slot: int) -> list[SpendSlot]:
        """The consumer's priced spend in slots first..end (end excluded)."""
        ...
