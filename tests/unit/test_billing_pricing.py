"""Pricing per billing period: the price list in force at each call, the free tier and a
plan's included requests taken off the month first, only counted calls billed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from commands.billing_pricing import by_day, price_calls, spend
from commands.metering_ports import CallStatus, UsageRecord

START = datetime(2031, 5, 1, tzinfo=UTC)
CHEAP = {"currency": "USD", "free_requests_per_month": 2, "price_per_request": 10}
DEAR = {"currency": "USD", "free_requests_per_month": 2, "price_per_request": 30}


def call(consumer: UUID, model: UUID, at: datetime, **extra: object) -> UsageRecord:
    fields: dict[str, object] = dict(
        request_id=uuid4().hex, consumer_id=consumer, api_key_id=None, model_id=model,
        publisher_id=uuid4(), version="1.0.0", units=1, compute_ms=1.0,
        status=CallStatus.SUCCEEDED, cold_start=False, cached=False, cost_amount=0,
        currency="USD", at=at,
    )  # fmt: skip
    fields.update(extra)
    return UsageRecord(**fields)  # type: ignore[arg-type]


def test_calls_before_and_after_a_mid_month_price_change_pay_their_own_price() -> None:
    consumer, model = uuid4(), uuid4()
    change = START + timedelta(days=14)
    schedule = [("", CHEAP), (change.isoformat(), DEAR)]
    calls = [call(consumer, model, START + timedelta(days=d)) for d in (1, 2, 3, 4, 20, 21)]
    priced, counts = price_calls(calls, {}, lambda _: schedule, lambda *_: 1)
    # free tier 2 + 1 included: the first three are free; then 10, then 30 and 30
    assert [p.amount for p in priced] == [0, 0, 0, 10, 30, 30]
    assert [p.billable_units for p in priced] == [0, 0, 0, 1, 1, 1]
    assert counts == {(consumer, model, "2031-05"): 6}
    days = by_day(priced)
    assert days[(consumer, model, "2031-05-22", "USD")].amount == 30
    assert sum(t.amount for t in days.values()) == 70
    assert spend(priced) == {(consumer, None, "2031-05", "USD"): 70}


def test_batches_continue_the_month_where_the_last_one_stopped() -> None:
    consumer, model = uuid4(), uuid4()
    key = (consumer, model, "2031-05")
    calls = [call(consumer, model, START + timedelta(hours=h)) for h in range(4)]
    whole, _ = price_calls(calls, {}, lambda _: [("", CHEAP)], lambda *_: 0)
    first, counts = price_calls(calls[:1], {}, lambda _: [("", CHEAP)], lambda *_: 0)
    second, _ = price_calls(calls[1:], {key: counts[key]}, lambda _: [("", CHEAP)], lambda *_: 0)
    assert [p.amount for p in first + second] == [p.amount for p in whole] == [0, 0, 10, 10]


def test_failed_and_cold_start_calls_are_never_billed_nor_use_the_free_tier() -> None:
    consumer, model = uuid4(), uuid4()
    calls = [
        call(consumer, model, START, status=CallStatus.FAILED),
        call(consumer, model, START + timedelta(seconds=1), cold_start=True),
        call(consumer, model, START + timedelta(seconds=2)),
        call(consumer, model, START + timedelta(seconds=3)),
        call(consumer, model, START + timedelta(seconds=4)),
    ]
    priced, counts = price_calls(calls, {}, lambda _: [("", CHEAP)], lambda *_: 0)
    assert [p.amount for p in priced] == [0, 0, 0, 0, 10]
    assert counts == {(consumer, model, "2031-05"): 3}
    assert by_day(priced)[(consumer, model, "2031-05-01", "USD")].calls == 5


def test_a_new_month_starts_with_its_free_tier_again() -> None:
    consumer, model = uuid4(), uuid4()
    calls = [call(consumer, model, START - timedelta(hours=h)) for h in (3, 2, 1)]
    calls.append(call(consumer, model, START))
    priced, _ = price_calls(calls, {}, lambda _: [("", CHEAP)], lambda *_: 0)
    assert [p.amount for p in priced] == [0, 0, 10, 0]


def test_a_plans_included_requests_are_asked_once_per_consumer_model_and_month() -> None:
    consumer, model = uuid4(), uuid4()
    asked: list[tuple[UUID, UUID, str]] = []

    def included(consumer_id: UUID, model_id: UUID, month: str) -> int:
        asked.append((consumer_id, model_id, month))
        return 1

    calls = [call(consumer, model, START + timedelta(hours=h)) for h in range(5)]
    calls.append(call(consumer, model, START + timedelta(days=31)))
    priced, _ = price_calls(calls, {}, lambda _: [("", CHEAP)], included)
    assert [p.amount for p in priced] == [0, 0, 0, 10, 10, 0]
    assert asked == [(consumer, model, "2031-05"), (consumer, model, "2031-06")]
