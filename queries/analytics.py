"""Consumer, publisher and platform analytics per day in the caller's time zone.

Calls, errors, latency and distinct callers come from the usage ledger, grouped per local
day in the database, and spend from the priced usage in quarter-hour slots (both through
`UsageStats`); revenue, fees and earnings from the publishers' ledgers (`revenue` read
model); ratings from the `reviews` read model. Rows are per day x model x currency (the
currency the calls were priced in). Latency is the mean
compute time of a row's calls, errors included: the sum over the calls / their count."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from projections.ports import ReadStore
from queries.analytics_ports import DayCalls, UsageStats, Who
from queries.analytics_sources import LedgerEntry, ledger_entries, publisher_reviews
from queries.analytics_window import Window, day_named

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
    unique_consumers: int = 0
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
        rows.add_calls(self._stats.days(window.runs(), Who(consumer_id=consumer_id)))
        for spent in self._stats.spend(consumer_id, window.first_slot, window.end_slot):
            day = window.day_of_slot(spent.slot)
            rows.at((day, spent.model_id, spent.currency)).spend += spent.amount
        return rows.report()

    def publisher(self, publisher_id: UUID, window: Window) -> Report:
        rows, who = _Rows(window), Who(publisher_id=publisher_id)
        rows.add_calls(self._stats.days(window.runs(), who))
        rows.add_entries(ledger_entries(self._store, publisher_id))
        ratings = _ratings(window, publisher_reviews(self._store, publisher_id))
        consumers = self._stats.consumers(window.lo, window.hi, who)
        return Report(window, rows.sorted(), ratings, consumers)

    def platform(self, window: Window) -> Report:
        """Per day x currency (every model together); the models with most calls."""
        rows, everyone = _Rows(window, by_model=False), Who()
        rows.add_calls(self._stats.days(window.runs(), everyone, by_model=False))
        rows.add_entries(ledger_entries(self._store, None))
        top = [
            Row("", m.model_id, "", m.calls, m.errors, m.compute_ms, m.consumers)
            for m in self._stats.models(window.lo, window.hi, everyone, TOP)
        ]
        consumers = self._stats.consumers(window.lo, window.hi, everyone)
        return Report(window, rows.sorted(), [], consumers, top)


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

    def add_calls(self, days: Iterable[DayCalls]) -> None:
        for d in days:
            row = self.at((day_named(d.day), d.model_id, d.currency))
            row.calls, row.errors = d.calls, d.errors
            row.compute_ms, row.unique_consumers = d.compute_ms, d.consumers

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
