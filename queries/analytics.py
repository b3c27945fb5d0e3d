"""Consumer, publisher and platform analytics per day in the caller's time zone.

Calls, errors and latency come from the usage ledger, spend from the priced usage (both
through `UsageStats`, in quarter-hour slots); revenue, fees and earnings from the
publishers' ledgers (`revenue` read model); ratings from the `reviews` read model. Rows are
per day x model x currency (the currency the calls were priced in). Latency is the mean
compute time of a row's calls, errors included: the sum over the calls / their count."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from projections.ports import ReadStore
from queries.analytics_ports import CallSlot, UsageStats
from queries.analytics_sources import LedgerEntry, ledger_entries, publisher_reviews
from queries.analytics_window import Window

Key = tuple[str, UUID | None, str]  # day, model (None: all models), currency
TOP = 10


@dataclass
class Row:
    day: str
    model_id: UUID | None
    currency: str
    calls: int = 0
    errors: int = 0
    compute_ms: float = 0.0
    consumers: set[UUID] = field(default_factory=set)
    spend: int = 0
    gross: int = 0
    refunded: int = 0
    platform_fee: int = 0
    earnings: int = 0

    @property
    def mean_latency_ms(self) -> float:
        return round(self.compute_ms / self.calls, 3) if self.calls else 0.0

    @property
    def error_rate(self) -> float:
        return round(self.errors / self.calls, 4) if self.calls else 0.0

    @property
    def revenue(self) -> int:
        return self.gross - self.refunded

    @property
    def unique_consumers(self) -> int:
        return len(self.consumers)


@dataclass(frozen=True)
class RatingDay:
    day: str
    reviews: int
    mean_rating: float  # of the reviews written that day
    mean_to_date: float  # of every visible review written up to that day's end


@dataclass(frozen=True)
class Report:
    window: Window
    rows: list[Row]
    ratings: list[RatingDay] = field(default_factory=list)
    active_users: int = 0  # distinct consumers who called in the window
    top_models: list[Row] = field(default_factory=list)  # most calls in the window


class AnalyticsQueries:
    def __init__(self, stats: UsageStats, store: ReadStore) -> None:
        self._stats = stats
        self._store = store

    def consumer(self, consumer_id: UUID, window: Window) -> Report:
        rows = _Rows(window)
        rows.add_calls(self._stats.calls(window.first_slot, window.end_slot, consumer_id))
        for spent in self._stats.spend(consumer_id, window.first_slot, window.end_slot):
            day = window.day_of_slot(spent.slot)
            rows.at((day, spent.model_id, spent.currency)).spend += spent.amount
        return rows.report()

    def publisher(self, publisher_id: UUID, window: Window) -> Report:
        rows = _Rows(window)
        calls = self._stats.calls(window.first_slot, window.end_slot, publisher_id=publisher_id)
        rows.add_calls(calls)
        rows.add_entries(ledger_entries(self._store, publisher_id))
        ratings = _ratings(window, publisher_reviews(self._store, publisher_id))
        return Report(window, rows.sorted(), ratings, len({c.consumer_id for c in calls}))

    def platform(self, window: Window) -> Report:
        """Per day x currency (every model together); the models with most calls."""
        rows, models = _Rows(window, by_model=False), _Rows(window)
        calls = self._stats.calls(window.first_slot, window.end_slot)
        rows.add_calls(calls)
        models.add_calls(calls)
        rows.add_entries(ledger_entries(self._store, None))
        top = _top_models(models.sorted())
        return Report(window, rows.sorted(), [], len({c.consumer_id for c in calls}), top)


class _Rows:
    def __init__(self, window: Window, by_model: bool = True) -> None:
        self.window = window
        self.by_model = by_model
        self.rows: dict[Key, Row] = {}

    def at(self, key: Key) -> Row:
        if not self.by_model:
            key = (key[0], None, key[2])
        if key not in self.rows:
            self.rows[key] = Row(*key)
        return self.rows[key]

    def add_calls(self, slots: Iterable[CallSlot]) -> None:
        for s in slots:
            row = self.at((self.window.day_of_slot(s.slot), s.model_id, s.currency))
            row.calls += s.calls
            row.errors += s.errors
            row.compute_ms += s.compute_ms
            row.consumers.add(s.consumer_id)

    def add_entries(self, entries: Iterable[LedgerEntry]) -> None:
        for e in entries:
            if self.window.holds(e.at):
                row = self.at((self.window.day_of(e.at), e.model_id, e.currency))
                row.gross += e.gross
                row.refunded += e.refunded
                row.platform_fee += e.fee
                row.earnings += e.share

    def sorted(self) -> list[Row]:
        return [self.rows[key] for key in sorted(self.rows, key=lambda k: (k[0], str(k[1]), k[2]))]

    def report(self) -> Report:
        return Report(self.window, self.sorted())


def _top_models(rows: list[Row]) -> list[Row]:
    """The window's calls per model (all currencies together), most first."""
    merged: dict[UUID | None, Row] = {}
    for row in rows:
        total = merged.setdefault(row.model_id, Row("", row.model_id, ""))
        total.calls, total.errors = total.calls + row.calls, total.errors + row.errors
        total.compute_ms += row.compute_ms
        total.consumers |= row.consumers
    ranked = sorted(merged.values(), key=lambda r: (-r.calls, str(r.model_id)))
    return ranked[:TOP]


def _ratings(window: Window, reviews: list[tuple[datetime, int]]) -> list[RatingDay]:
    by_day: dict[str, list[int]] = defaultdict(list)
    before = Counter[str]()
    for at, rating in reviews:
        day = window.day_of(at)
        if day < window.first.isoformat():
            before["n"], before["sum"] = before["n"] + 1, before["sum"] + rating
        elif day <= window.last.isoformat():
            by_day[day].append(rating)
    days: list[RatingDay] = []
    count, total = before["n"], before["sum"]
    for day in sorted(by_day):
        ratings = by_day[day]
        count, total = count + len(ratings), total + sum(ratings)
        mean = round(sum(ratings) / len(ratings), 3)
        days.append(RatingDay(day, len(ratings), mean, round(total / count, 3)))
    return days
