"""Metering on both profiles: the usage ledger (a SQLite file; the real PostgreSQL), the
buffered meter's monthly counts, and the roll-up into the Usage aggregates, exactly once
per record even when a roll-up dies half-way or two run at once."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from uuid import UUID, uuid4

import pytest

from commands.event_store import EventStore
from commands.metering import BufferedUsageMeter
from commands.metering_ports import CallStatus, UsageLedger, UsageRecord, month_of
from commands.usage import UsageCommands
from commands.usage_rollup import UsageRollup, by_pair
from domain.usage import Usage
from infra.settings import Settings
from infra.stores import open_marketplace, postgres_pool
from infra.usage import open_usage_ledger
from tests.support import MovableClock


@dataclass
class Rig:
    ledger: UsageLedger
    app: EventStore
    clock: MovableClock
    closers: list[Callable[[], object]] = field(default_factory=list)

    def meter(self) -> BufferedUsageMeter:
        meter = BufferedUsageMeter(self.ledger, batch_size=10_000, flush_interval_s=60)
        self.closers.append(meter.close)
        return meter

    def rollup(self, batch_size: int = 1000) -> UsageRollup:
        return UsageRollup(self.ledger, UsageCommands(self.app), self.clock, batch_size)


@pytest.fixture(params=["embedded", "cluster"])
def rig(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Rig]:
    """The profile's ledger and event store, built as the composition root builds them."""
    if request.param == "cluster":
        settings: Settings = request.getfixturevalue("cluster_settings")
    else:
        settings = Settings(profile="embedded", data_dir=tmp_path)
    closers: list[Callable[[], object]] = []
    pool = postgres_pool(settings, closers) if request.param == "cluster" else None
    built = Rig(
        open_usage_ledger(settings, pool, closers), open_marketplace(settings), MovableClock()
    )
    yield built
    for close in reversed([*closers, *built.closers]):
        close()
    built.app.close()


def call(
    consumer: UUID,
    model: UUID,
    at: datetime,
    status: CallStatus = CallStatus.SUCCEEDED,
    cold_start: bool = False,
    cost: int = 0,
    request_id: str | None = None,
) -> UsageRecord:
    return UsageRecord(
        request_id=request_id or f"req-{uuid4().hex}", consumer_id=consumer, api_key_id=uuid4(),
        model_id=model, publisher_id=uuid4(), version="1.0.0", units=1, compute_ms=1.5,
        status=status, cold_start=cold_start, cached=False, cost_amount=cost, currency="usd",
        at=at,
    )  # fmt: skip


def usage_of(rig: Rig, consumer: UUID, model: UUID) -> Usage:
    return rig.app.load(Usage, Usage.create_id(consumer, model))


def test_the_same_record_twice_is_one_row_counted_once(rig: Rig) -> None:
    consumer, model, now = uuid4(), uuid4(), rig.clock.now()
    record = call(consumer, model, now)
    assert rig.ledger.append([record]) == 1
    other = call(consumer, model, now)
    assert rig.ledger.append([record, other]) == 1  # only the new one
    # Two meters (two API processes) given the same redelivered record: one row.
    again = call(consumer, model, now)
    first, second = rig.meter(), rig.meter()
    for meter in (first, second, first):
        meter.record(again)
    assert first.pending() == 1  # the meter drops what it has just seen
    assert first.flush() + second.flush() == 1
    month = month_of(now)
    assert rig.ledger.calls_in_month(consumer, model, month) == 3
    stored = rig.ledger.records_for(consumer, now - timedelta(seconds=1), 10)
    assert sorted(r.request_id for r in stored) == sorted(
        [record.request_id, other.request_id, again.request_id]
    )
    assert stored[0] == record  # every field back as it went in


def test_failed_timed_out_and_cold_start_calls_are_stored_unbilled_and_never_counted(
    rig: Rig,
) -> None:
    consumer, model, now = uuid4(), uuid4(), rig.clock.now()
    meter = rig.meter()
    priced = [
        call(consumer, model, now, CallStatus.FAILED, cost=7),
        call(consumer, model, now, CallStatus.TIMED_OUT, cost=7),
        call(consumer, model, now, CallStatus.UNAVAILABLE, cost=7),
        call(consumer, model, now, CallStatus.SUCCEEDED, cold_start=True, cost=7),
        call(consumer, model, now, CallStatus.SUCCEEDED, cost=7),
    ]
    assert meter.calls_this_month(consumer, model, month_of(now)) == 0
    for record in priced:
        meter.record(record)
    assert meter.peek_calls(consumer, model, month_of(now)) == 1
    assert meter.flush() == 5
    stored = {r.request_id: r for r in rig.ledger.records_for(consumer, now, 10)}
    got = [(stored[r.request_id].status, stored[r.request_id].cold_start) for r in priced]
    assert got == [(r.status, r.cold_start) for r in priced]
    assert [stored[r.request_id].cost_amount for r in priced] == [0, 0, 0, 0, 7]
    assert rig.ledger.calls_in_month(consumer, model, month_of(now)) == 1


def test_monthly_counts_are_seeded_from_the_ledger_after_a_restart(rig: Rig) -> None:
    consumer, model, now = uuid4(), uuid4(), rig.clock.now()
    month = month_of(now)
    before = rig.meter()
    for _ in range(3):
        before.record(call(consumer, model, now))
    assert before.peek_calls(consumer, model, month) is None  # not asked for yet
    # Seeded while all three still wait in the buffer: counted once each.
    assert before.calls_this_month(consumer, model, month) == 3
    before.record(call(consumer, model, now))
    assert before.peek_calls(consumer, model, month) == 4
    before.close()

    after = rig.meter()  # a restarted process
    assert after.peek_calls(consumer, model, month) is None
    assert after.calls_this_month(consumer, model, month) == 4
    after.record(call(consumer, model, now))
    after.record(call(consumer, model, now, CallStatus.FAILED))
    assert after.peek_calls(consumer, model, month) == 5
    after.flush()
    assert rig.ledger.calls_in_month(consumer, model, month) == 5


def test_a_call_counts_in_the_utc_month_of_its_own_time_not_the_clocks(rig: Rig) -> None:
    consumer, model = uuid4(), uuid4()
    today = rig.clock.now().astimezone(UTC)
    # The first instant of next month (UTC), written in a zone where it is still last month.
    boundary = (today.replace(day=1) + timedelta(days=32)).replace(
        day=1, hour=0, minute=0, second=0, microsecond=0
    )
    behind = timezone(timedelta(hours=-5))
    late, early = boundary - timedelta(microseconds=1), boundary.astimezone(behind)
    assert early.month != boundary.month  # the local date says last month: UTC decides
    meter = rig.meter()
    for at in (late, early, early + timedelta(hours=1)):
        meter.record(call(consumer, model, at))
    this, following = month_of(late), month_of(boundary)
    assert this != following
    assert meter.calls_this_month(consumer, model, this) == 1
    assert meter.calls_this_month(consumer, model, following) == 2
    meter.flush()
    assert rig.ledger.calls_in_month(consumer, model, this) == 1
    assert rig.ledger.calls_in_month(consumer, model, following) == 2


def test_the_rollup_counts_each_record_once_into_the_usage_aggregate(rig: Rig) -> None:
    consumer, model, now = uuid4(), uuid4(), rig.clock.now()
    yesterday = now - timedelta(days=1)
    records = [
        call(consumer, model, yesterday),
        call(consumer, model, now),
        call(consumer, model, now, CallStatus.FAILED),
    ]
    meter = rig.meter()
    for record in records:
        meter.record(record)
    meter.flush()
    usage = UsageCommands(rig.app)
    assert not usage.has_used(consumer, model)
    rollup = rig.rollup()
    while rollup.run_once():
        pass
    aggregate = usage_of(rig, consumer, model)
    assert (aggregate.calls, aggregate.successful_calls) == (3, 2)
    assert aggregate.days == {
        yesterday.astimezone(UTC).date().isoformat(): 1,
        now.astimezone(UTC).date().isoformat(): 2,
    }
    assert usage.has_used(consumer, model)  # the review rule
    version = aggregate.version
    # Redelivered after the roll-up: no new row, nothing rolled up twice.
    assert rig.ledger.append(records) == 0
    while rollup.run_once():
        pass
    assert usage_of(rig, consumer, model).version == version


def test_a_rollup_killed_half_way_is_redone_without_counting_twice(rig: Rig) -> None:
    now = rig.clock.now()
    pairs = [(uuid4(), uuid4()) for _ in range(3)]
    rig.ledger.append([call(c, m, now) for c, m in pairs for _ in range(2)])
    crashed = rig.rollup(batch_size=100_000)
    batch = crashed.claim()
    assert batch is not None
    mine = [p for p in by_pair(batch.records) if (p.consumer_id, p.model_id) in pairs]
    assert len(mine) == 3
    # Step (b) got through the first pair only, then the process died: no step (c).
    first = mine[0]
    usage = UsageCommands(rig.app)
    usage.record_batch(
        first.consumer_id, first.model_id, first.publisher_id, batch.batch_id, first.days
    )
    rig.clock.advance(3600)  # long past any stale limit, as after a restart

    restarted = rig.rollup()
    assert restarted.redo_unfinished(everything=True) >= 1
    for consumer, model in pairs:
        assert usage_of(rig, consumer, model).calls == 2
    # Finished now: neither a later round nor another restart applies it again.
    assert batch.batch_id not in [
        b.batch_id for b in rig.ledger.unfinished_batches(rig.clock.now())
    ]
    restarted.run_once()
    assert [usage_of(rig, c, m).calls for c, m in pairs] == [2, 2, 2]


def test_two_rollups_at_once_count_every_record_exactly_once(rig: Rig) -> None:
    now = rig.clock.now()
    pairs = [(uuid4(), uuid4()) for _ in range(5)]
    rig.ledger.append([call(c, m, now) for c, m in pairs for _ in range(12)])
    # A batch left unfinished as well: both redo it at the same moment.
    half_done = rig.rollup(batch_size=7).claim()
    assert half_done is not None
    rig.clock.advance(3600)
    errors: list[BaseException] = []

    def roll() -> None:
        try:
            rollup = rig.rollup(batch_size=7)
            rollup.redo_unfinished(everything=True)
            while rollup.run_once():
                pass
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=roll) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors
    assert [usage_of(rig, c, m).calls for c, m in pairs] == [12] * 5
