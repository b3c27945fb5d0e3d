"""Metering's ports: every inference call leaves one usage record, idempotent by its
request id; records are counted per month (free tiers, monthly caps) and rolled up in
batches into the Usage aggregates (reviews, recommendations, popularity) and, once billing
lands, into invoices. Usage is high-volume, so a record is a row, not an event."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Protocol
from uuid import UUID


class CallStatus(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # the engine answered with an error, or refused the inputs
    TIMED_OUT = "timed_out"
    UNAVAILABLE = "unavailable"  # loading, breaker open, engine unreachable


@dataclass(frozen=True)
class UsageRecord:
    request_id: str  # the idempotency key: a redelivered record is counted once
    consumer_id: UUID
    api_key_id: UUID | None
    model_id: UUID
    publisher_id: UUID
    version: str
    units: int  # billable units of this call (items in it)
    compute_ms: float
    status: CallStatus
    cold_start: bool
    cached: bool
    cost_amount: int  # minor units; 0 when not billed (free tier, failed, cold start)
    currency: str
    at: datetime

    @property
    def counts_toward_quota(self) -> bool:
        """Free tiers and monthly caps count the calls that gave the caller an answer;
        a cold start is never billed, so it does not use up the free tier either."""
        return self.status == CallStatus.SUCCEEDED and not self.cold_start

    @property
    def month(self) -> str:
        return month_of(self.at)

    @property
    def day(self) -> str:
        return self.at.astimezone(UTC).date().isoformat()

    @property
    def billed(self) -> bool:
        return self.cost_amount > 0


class UsageMeter(Protocol):
    """What the inference path needs of metering; fast and safe to call from any thread."""

    def record(self, record: UsageRecord) -> None:
        """Take one record; written to the ledger in batches, soon after."""
        ...

    def peek_calls(self, consumer_id: UUID, model_id: UUID, month: str) -> int | None:
        """This month's counted calls (month as YYYY-MM) if known in memory, else None."""
        ...

    def calls_this_month(self, consumer_id: UUID, model_id: UUID, month: str) -> int:
        """This month's counted calls, reading the ledger when not known in memory."""
        ...


def month_of(at: datetime) -> str:
    """The record's month, YYYY-MM, in UTC: the same for every process and time zone."""
    utc = at.astimezone(UTC)
    return f"{utc.year:04d}-{utc.month:02d}"  # strftime costs more, on every model call


@dataclass(frozen=True)
class ClaimedBatch:
    """Ledger rows claimed for one roll-up into the Usage aggregates, under one id."""

    batch_id: str
    records: list[UsageRecord]


class UsageLedger(Protocol):
    """Where usage records are kept: one row per request id (embedded: SQLite; cluster:
    PostgreSQL), counted per month and claimed in batches by the roll-up."""

    def append(self, records: Sequence[UsageRecord]) -> int:
        """Store the records whose request id is new; return how many were."""
        ...

    def calls_in_month(self, consumer_id: UUID, model_id: UUID, month: str) -> int:
        """Stored calls of the month (YYYY-MM, UTC) that count toward quotas."""
        ...

    def claim_batch(self, limit: int, at: datetime) -> ClaimedBatch | None:
        """Give up to `limit` rows no batch holds a new batch id, in one transaction;
        None when there are none."""
        ...

    def unfinished_batches(self, claimed_before: datetime) -> list[ClaimedBatch]:
        """Batches claimed before then and not finished: the same rows, the same id."""
        ...

    def finish_batch(self, batch_id: str, at: datetime) -> None: ...

    def records_for(self, consumer_id: UUID, since: datetime, limit: int) -> list[UsageRecord]:
        """A consumer's records from `since` on, oldest first (usage reports, billing)."""
        ...
