"""What both ledgers share: the columns of a usage row, and a row back as a record."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from commands.metering_ports import CallStatus, UsageRecord

# The record's fields, in the order both ledgers store and select them.
FIELDS = (
    "request_id", "consumer_id", "api_key_id", "model_id", "publisher_id", "version",
    "units", "compute_ms", "status", "cold_start", "cached", "cost_amount", "currency", "at",
)  # fmt: skip
# Kept beside them: the UTC month and whether the call counts toward quotas, so the
# monthly count is one indexed query and the rule stays in `UsageRecord`.
DERIVED = ("month", "counted")


def values_of(record: UsageRecord) -> list[Any]:
    """The row for a record, FIELDS then DERIVED (adapters convert types further)."""
    values = [getattr(record, name) for name in FIELDS]
    return [*values, record.month, record.counts_toward_quota]


def record_of(row: Sequence[Any], at: datetime) -> UsageRecord:
    """A record from the FIELDS of a row; `at` already converted by the adapter."""
    values = dict(zip(FIELDS, row, strict=True))
    return UsageRecord(
        request_id=str(values["request_id"]),
        consumer_id=_uuid(values["consumer_id"]),
        api_key_id=None if values["api_key_id"] is None else _uuid(values["api_key_id"]),
        model_id=_uuid(values["model_id"]),
        publisher_id=_uuid(values["publisher_id"]),
        version=str(values["version"]),
        units=int(values["units"]),
        compute_ms=float(values["compute_ms"]),
        status=CallStatus(values["status"]),
        cold_start=bool(values["cold_start"]),
        cached=bool(values["cached"]),
        cost_amount=int(values["cost_amount"]),
        currency=str(values["currency"]),
        at=at,
    )


def _uuid(value: Any) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))
