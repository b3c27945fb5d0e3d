"""Usage records as CloudEvents 1.0 in JSON (structured mode): what the API produces to
`aimarket.usage` and the metering worker reads back.

Written here rather than with the `cloudevents` SDK: the JSON format is a dozen
attributes, the SDK adds its own dependencies to the embedded path for no gain, and it
does not bound or type-check `data`, which a consumer of a topic must do anyway. A
record that fails `decode` raises `MalformedUsageEvent`; the worker logs and skips it.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any
from uuid import UUID

from commands.metering_ports import CallStatus, UsageRecord

SOURCE = "/aimarket/inference"
CALL, BATCH_ITEM, JOB = (
    "aimarket.inference.call", "aimarket.inference.batch_item", "aimarket.inference.job",
)  # fmt: skip
TYPES = frozenset({CALL, BATCH_ITEM, JOB})
MAX_BYTES = 8 * 1024  # a record is about 700 bytes: anything far bigger is not one of ours
_BATCH_ITEM = re.compile(r".+\.\d+")
_REQUIRED = ("id", "source", "type", "subject", "time", "specversion", "data")


class MalformedUsageEvent(ValueError):
    """Bytes on the usage topic that are not a usage record we can bill."""


def event_type(request_id: str) -> str:
    """Batch items carry `<request id>.<n>`, async jobs their job id (a dashed UUID)."""
    if _BATCH_ITEM.fullmatch(request_id):
        return BATCH_ITEM
    try:
        return JOB if str(UUID(request_id)) == request_id else CALL
    except ValueError:
        return CALL


def encode(record: UsageRecord) -> bytes:
    event = {
        "specversion": "1.0",
        "id": record.request_id,
        "source": SOURCE,
        "type": event_type(record.request_id),
        "subject": str(record.consumer_id),
        "time": record.at.isoformat(),
        "datacontenttype": "application/json",
        "data": {
            "model_id": str(record.model_id),
            "version": record.version,
            "publisher_id": str(record.publisher_id),
            "api_key_id": None if record.api_key_id is None else str(record.api_key_id),
            "units": record.units,
            "compute_ms": record.compute_ms,
            "status": record.status.value,
            "cold_start": record.cold_start,
            "cached": record.cached,
            "cost": {"amount": record.cost_amount, "currency": record.currency},
        },
    }
    return json.dumps(event, separators=(",", ":")).encode()


def decode(raw: bytes) -> UsageRecord:
    """The record in a CloudEvent, or MalformedUsageEvent saying what is wrong."""
    if len(raw) > MAX_BYTES:
        raise MalformedUsageEvent(f"{len(raw)} bytes: over {MAX_BYTES}")
    try:
        event = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as error:
        raise MalformedUsageEvent(f"not JSON: {error}") from None
    if not isinstance(event, dict) or any(name not in event for name in _REQUIRED):
        raise MalformedUsageEvent(f"a CloudEvent needs {', '.join(_REQUIRED)}")
    if event["specversion"] != "1.0" or event["type"] not in TYPES:
        raise MalformedUsageEvent("not a CloudEvents 1.0 usage record")
    try:
        return _record(event)
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise MalformedUsageEvent(f"bad attribute: {error!r}") from None


def _record(event: dict[str, Any]) -> UsageRecord:
    data, request_id = event["data"], event["id"]
    cost, at = data["cost"], datetime.fromisoformat(_text(event["time"]))
    if not isinstance(request_id, str) or not 0 < len(request_id) <= 200:
        raise ValueError("id")
    if at.tzinfo is None:
        raise ValueError("time without a UTC offset")
    return UsageRecord(
        request_id=request_id,
        consumer_id=UUID(_text(event["subject"])),
        api_key_id=None if data["api_key_id"] is None else UUID(_text(data["api_key_id"])),
        model_id=UUID(_text(data["model_id"])),
        publisher_id=UUID(_text(data["publisher_id"])),
        version=_text(data["version"]),
        units=_count(data["units"]),
        compute_ms=float(data["compute_ms"]),
        status=CallStatus(data["status"]),
        cold_start=_flag(data["cold_start"]),
        cached=_flag(data["cached"]),
        cost_amount=_count(cost["amount"]),
        currency=_text(cost["currency"]),
        at=at,
    )


def _text(value: object) -> str:
    if not isinstance(value, str) or len(value) > 200:
        raise ValueError(f"expected a short string, got {type(value).__name__}")
    return value


def _count(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**53:
        raise ValueError("expected a non-negative integer")
    return value


def _flag(value: object) -> bool:
    if not isinstance(value, bool):
        raise ValueError("expected true or false")
    return value
