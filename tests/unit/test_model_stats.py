"""The model-stats roll-up: window arithmetic, the trending formula, and the refresh from
the read models into `Model.StatsUpdated`, through the embedded hook and the log follower."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.persistence import IntegrityError

from commands.event_store import EventStore
from commands.model_stats import ModelStats, empty_stats, trending, window_sums
from commands.usage import UsageCommands
from domain.model import Model
from domain.pricing import FREE
from domain.review import Review
from infra.readstore.sqlite import SqliteReadStore
from workers.embedded import EmbeddedRunner
from workers.projector import Projector
from workers.stats_worker import TRACKER, StatsTrigger, StatsWorker

TODAY = date(2026, 11, 26)


class FixedClock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at


def days_ago(n: int, today: date = TODAY) -> str:
    return (today - timedelta(days=n)).isoformat()


# Windows and trending


def test_today_and_six_days_back_are_this_week_the_seven_before_are_last_week() -> None:
    days = {days_ago(n): 10**n for n in range(16)}
    this, prev = window_sums(days, TODAY)
    assert this == sum(10**n for n in range(7))
    assert prev == sum(10**n for n in range(7, 14))


def test_future_days_and_malformed_days_count_in_no_window() -> None:
    days = {"2026-11-27": 5, "not-a-day": 7, "2026-11-26": 1}
    assert window_sums(days, TODAY) == (1, 0)


@pytest.mark.parametrize(
    ("this", "prev", "expected"),
    [
        (20, 10, 1000),  # doubled
        (10, 10, 0),
        (0, 15, -1000),  # stopped
        (5, 0, 500),  # from nothing: measured against the floor of 10
        (10, 3, 700),  # small bases take the floor too
        (0, 3, -300),
        (1, 12, -917),  # rounded down, also below zero
        (2000, 1000, 1000),
    ],
)
def test_trending_is_growth_in_per_mille_against_last_week(
    this: int, prev: int, expected: int
) -> None:
    assert trending(this, prev) == expected


# Refresh through real read models


class World:
    """A marketplace in memory, its read models in SQLite, and the embedded runner."""

    def __init__(self, tmp_path: Path, at: datetime) -> None:
        self.app = EventStore(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
        self.store = SqliteReadStore(tmp_path / "read.sqlite")
        self.clock = FixedClock(at)
        self.runner = EmbeddedRunner(self.app, Projector(self.store, None), self.store)
        self.stats = ModelStats(self.app, self.store, self.clock)
        self.usage = UsageCommands(self.app)

    def model(self) -> uuid.UUID:
        model = Model(
            publisher_id=uuid.uuid4(), publisher_name="P", slug=f"m-{uuid.uuid4().hex[:8]}",
            details={"name": "M"}, pricing=FREE.as_dict(),
        )  # fmt: skip
        return self.app.write(model).id

    def review(self, model_id: uuid.UUID, rating: int, hidden: bool = False) -> None:
        review = Review(
            model_id=model_id, consumer_id=uuid.uuid4(), publisher_id=uuid.uuid4(),
            reviewer_name="R", version="1.0.0", rating=rating, title="t", body="",
            at=self.clock.now(),
        )  # fmt: skip
        if hidden:
            review.hide(uuid.uuid4(), "abuse", self.clock.now())
        self.app.save(review)

    def stats_of(self, model_id: uuid.UUID) -> dict[str, int]:
        return self.app.load(Model, model_id).stats


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World(tmp_path, datetime(2026, 11, 26, 12, 0, tzinfo=UTC))


def test_refresh_rolls_usage_and_visible_ratings_into_the_model(world: World) -> None:
    model_id = world.model()
    a, b, c = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    world.usage.record_usage(a, model_id, days_ago(0), 5, 5)
    world.usage.record_usage(a, model_id, days_ago(8), 3, 2)
    world.usage.record_usage(b, model_id, days_ago(6), 2, 2)
    world.usage.record_usage(c, model_id, days_ago(30), 4, 4)
    for rating in (5, 4, 4):
        world.review(model_id, rating)
    world.review(model_id, 1, hidden=True)
    world.runner.run_until_idle()

    assert world.stats.refresh([model_id]) == 1
    assert world.stats_of(model_id) == {
        **empty_stats(),
        "invocations_7d": 7,
        "invocations_prev_7d": 3,
        "invocations_total": 14,
        "consumers": 3,
        "trending": (7 - 3) * 1000 // 10,
        "rating_count": 3,
        "rating_sum": 13,
        "ratings_4": 2,
        "ratings_5": 1,
    }
    # Nothing changed: no second event.
    version = world.app.load(Model, model_id).version
    assert world.stats.refresh([model_id]) == 0
    assert world.app.load(Model, model_id).version == version


def test_the_windows_move_at_midnight_utc(world: World) -> None:
    model_id = world.model()
    world.usage.record_usage(uuid.uuid4(), model_id, days_ago(6), 4, 4)
    world.runner.run_until_idle()
    world.clock.at = datetime(2026, 11, 26, 23, 59, 59, tzinfo=UTC)
    world.stats.refresh([model_id])
    assert world.stats_of(model_id)["invocations_7d"] == 4
    world.clock.at = datetime(2026, 11, 27, 0, 0, 0, tzinfo=UTC)
    world.stats.refresh([model_id])
    stats = world.stats_of(model_id)
    assert (stats["invocations_7d"], stats["invocations_prev_7d"]) == (0, 4)
    assert stats["trending"] == -400  # -4 calls against the floor of 10


def test_refresh_all_finds_recently_used_models_and_everything_finds_the_rest(
    world: World,
) -> None:
    recent, old = world.model(), world.model()
    world.usage.record_usage(uuid.uuid4(), recent, days_ago(14), 1, 1)
    world.usage.record_usage(uuid.uuid4(), old, days_ago(15), 1, 1)
    world.runner.run_until_idle()
    assert world.stats.refresh_all() == 1
    assert world.stats_of(recent)["invocations_total"] == 1
    assert world.stats_of(old) == {}
    assert world.stats.refresh_all(everything=True) == 1
    assert world.stats_of(old)["invocations_total"] == 1


def test_an_unused_model_gets_no_event_and_an_unknown_model_is_skipped(world: World) -> None:
    model_id = world.model()
    assert world.stats.refresh([model_id, uuid.uuid4()]) == 0
    assert world.app.load(Model, model_id).version == 1


def test_a_concurrent_write_to_the_model_is_retried(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    model_id = world.model()
    world.usage.record_usage(uuid.uuid4(), model_id, days_ago(0), 2, 2)
    world.runner.run_until_idle()
    save, conflicts = world.app.save, list[int]()

    def racing_save(*aggregates: Any) -> Any:
        if not conflicts:  # the publisher edits the model between our load and save
            conflicts.append(1)
            other = world.app.load(Model, model_id)
            other.update_details({"description": "edited meanwhile"}, other.publisher_name)
            save(other)
        return save(*aggregates)

    monkeypatch.setattr(world.app, "save", racing_save)
    assert world.stats.refresh([model_id]) == 1
    model = world.app.load(Model, model_id)
    assert (model.description, model.stats["invocations_7d"]) == ("edited meanwhile", 2)


def test_a_conflict_that_never_ends_is_raised(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    model_id = world.model()
    world.usage.record_usage(uuid.uuid4(), model_id, days_ago(0), 2, 2)
    world.runner.run_until_idle()

    def always_conflicts(*aggregates: Any) -> Any:
        raise IntegrityError("conflict")

    monkeypatch.setattr(world.app, "save", always_conflicts)
    with pytest.raises(IntegrityError):
        world.stats.refresh([model_id])


# What sets it off


def test_the_embedded_hook_refreshes_the_models_of_each_applied_batch(world: World) -> None:
    trigger = StatsTrigger(world.stats, world.store)
    world.runner.after_batch.append(trigger)
    model_id, consumer = world.model(), uuid.uuid4()
    world.usage.record_usage(consumer, model_id, days_ago(0), 2, 2)
    world.runner.run_until_idle()
    assert trigger.run_once() == 1
    assert world.stats_of(model_id)["invocations_7d"] == 2
    # Usage.Recorded alone names no model: the usage read model does.
    world.usage.record_usage(consumer, model_id, days_ago(0), 3, 3)
    world.runner.run_until_idle()
    assert trigger.run_once() == 1
    assert world.stats_of(model_id)["invocations_7d"] == 5


def test_the_hook_keeps_a_failed_batch_for_the_next_try(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    trigger = StatsTrigger(world.stats, world.store)
    world.runner.after_batch.append(trigger)
    model_id = world.model()
    world.usage.record_usage(uuid.uuid4(), model_id, days_ago(0), 2, 2)
    world.runner.run_until_idle()

    def away(*args: Any, **kwargs: Any) -> Any:
        raise OSError("read store away")

    with monkeypatch.context() as patch:
        patch.setattr(world.stats, "compute", away)
        with pytest.raises(OSError):
            trigger.run_once()
    assert trigger.run_once() == 1


class Behind:
    """Projection progress that has not reached anything yet."""

    def reached(self, position: int) -> bool:
        return False


def test_the_log_follower_refreshes_after_the_read_models_and_keeps_its_position(
    world: World,
) -> None:
    model_id = world.model()
    world.usage.record_usage(uuid.uuid4(), model_id, days_ago(0), 2, 2)
    head = world.app.recorder.max_notification_id() or 0
    waiting = StatsWorker(world.app, world.store, Behind(), world.stats)
    waiting.stopping.set()  # it would wait for the read models; stopped, it gives up
    assert waiting.run_once() is False
    assert waiting.position() == 0

    world.runner.run_until_idle()
    worker = StatsWorker(world.app, world.store, world.runner, world.stats, batch=1)
    while worker.run_once():
        pass
    assert world.stats_of(model_id)["invocations_7d"] == 2
    # Its own StatsUpdated event lies beyond; it skips it without a refresh.
    end = world.app.recorder.max_notification_id() or 0
    assert world.store.position(TRACKER) == end > head
