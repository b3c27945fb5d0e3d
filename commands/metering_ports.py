"""Metering's ports: every inference call leaves one usage record, idempotent by its
request id; records are counted per month (free tiers, monthly caps) and rolled up in
batches into the Usage aggregates (reviews, recommendations, popularity) and, once billing
lands, into invoices. Usage is high-volume, so a record is a row, not an event."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
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
        """Free tiers and monthly caps count the calls that gave the caller an answer."""
        return self.status == CallStatus.SUCCEEDED

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
