"""Usage records as CloudEvents: what goes to `aimarket.usage` comes back the same, and
bytes that are not a usage record are refused (the worker logs and skips them)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from uuid import uuid4

import pytest

from commands.metering_ports import CallStatus, UsageRecord
from commands.usage_events import (
    BATCH_ITEM,
    CALL,
    JOB,
    MAX_BYTES,
    MalformedUsageEvent,
    decode,
    encode,
)
from workers.usage_app import decoded


def record(request_id: str = "0f" * 16, api_key: bool = True) -> UsageRecord:
    return UsageRecord(
        request_id=request_id, consumer_id=uuid4(), api_key_id=uuid4() if api_key else None,
        model_id=uuid4(), publisher_id=uuid4(), version="1.2.0", units=1, compute_ms=2.25,
        status=CallStatus.SUCCEEDED, cold_start=False, cached=True, cost_amount=5,
        currency="USD", at=datetime(2031, 3, 4, 5, 6, 7, 890, tzinfo=UTC),
    )  # fmt: skip


def test_a_record_round_trips_as_a_cloudevent_with_its_attributes() -> None:
    for original in (record(), record(api_key=False)):
        event = json.loads(encode(original))
        assert event["specversion"] == "1.0"
        assert event["id"] == original.request_id
        assert event["subject"] == str(original.consumer_id)
        assert event["source"] == "/aimarket/inference"
        assert event["datacontenttype"] == "application/json"
        assert event["data"]["cost"] == {"amount": 5, "currency": "USD"}
        assert decode(encode(original)) == original


def test_sync_batch_and_job_calls_have_types_of_their_own() -> None:
    assert json.loads(encode(record("ab" * 16)))["type"] == CALL
    assert json.loads(encode(record("ab" * 16 + ".3")))["type"] == BATCH_ITEM
    assert json.loads(encode(record(str(uuid4()))))["type"] == JOB


def _tampered(**changes: object) -> bytes:
    event = json.loads(encode(record()))
    for path, value in changes.items():
        *parents, leaf = path.split("__")
        target = event
        for name in parents:
            target = target[name]
        if value is None:
            del target[leaf]
        else:
            target[leaf] = value
    return json.dumps(event).encode()


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"[]",
        b"\xff\xfe",
        b"{" + b" " * MAX_BYTES + b"}",
        _tampered(id=None),
        _tampered(subject=None),
        _tampered(specversion="0.3"),
        _tampered(type="com.example.other"),
        _tampered(subject="not-a-uuid"),
        _tampered(time="2031-03-04T05:06:07"),  # no offset
        _tampered(data__units=-1),
        _tampered(data__units=True),
        _tampered(data__status="exploded"),
        _tampered(data__cost__amount="5"),
        _tampered(data__cost=None),
        _tampered(data=[]),
    ],
)
def test_what_is_not_a_usage_record_is_refused(raw: bytes) -> None:
    with pytest.raises(MalformedUsageEvent):
        decode(raw)


def test_the_worker_skips_malformed_records_and_keeps_the_rest() -> None:
    good = record()
    assert decoded([b"garbage", encode(good), _tampered(data__units="x")]) == [good]
