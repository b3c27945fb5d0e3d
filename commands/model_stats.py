"""The model-stats roll-up: usage and ratings, summed per model, written to the Model.

Usage (one aggregate per consumer and model) and reviews (one per consumer and model)
never touch the Model, so a busy model is no contention point. Their read models are
summed here and the result recorded as `Model.StatsUpdated`: an event, so the catalogue's
popular/trending/rating sorts are auditable and replay like everything else.

Figures (all integers):
- invocations_7d: calls on the last 7 days, today included (UTC days);
- invocations_prev_7d: calls on the 7 days before those; invocations_total: all calls;
- consumers: consumers with at least one call;
- trending: growth in per-mille, (this week - last week) * 1000 // max(last week, 10),
  rounded down; negative when use falls. The floor of 10 keeps a model going from 0 to 3
  calls from out-trending one going from 1,000 to 2,000;
- rating_count, rating_sum, ratings_1..ratings_5: over reviews that are not hidden.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, date, timedelta
from itertools import chain
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from commands.event_store import EventStore
from domain.clock import Clock
from domain.errors import NotFound
from domain.model import Model
from projections.cursor import Cursor
from projections.ports import Document, ReadStore

log = logging.getLogger("aimarket.stats")

WINDOW_DAYS = 7
# The daily refresh looks at models used in the last 15 days: the day a call leaves the
# previous week is the 15th day after it, and its model must be refreshed once more.
RECENT_DAYS = 2 * WINDOW_DAYS + 1
TRENDING_FLOOR = 10
RATINGS = range(1, 6)
PAGE = 500
WRITE_ATTEMPTS = 5
USAGE, REVIEWS = "usage", "reviews"


def window_sums(days: Mapping[str, int], today: date) -> tuple[int, int]:
    """Calls in (the last 7 days including today, the 7 days before them)."""
    this_start = today - timedelta(days=WINDOW_DAYS - 1)
    prev_start = this_start - timedelta(days=WINDOW_DAYS)
    this = prev = 0
    for day, calls in days.items():
        try:
            when = date.fromisoformat(day)
        except ValueError:
            continue  # not a day: nothing the aggregate would have accepted
        if this_start <= when <= today:
            this += int(calls)
        elif prev_start <= when < this_start:
            prev += int(calls)
    return this, prev


def trending(this_week: int, last_week: int) -> int:
    """Growth in per-mille against last week, with a floor under small bases."""
    return (this_week - last_week) * 1000 // max(last_week, TRENDING_FLOOR)


def recent_days(today: date, count: int = RECENT_DAYS) -> list[str]:
    return [(today - timedelta(days=n)).isoformat() for n in range(count)]


def empty_stats() -> dict[str, int]:
    keys = ["invocations_7d", "invocations_prev_7d", "invocations_total", "consumers"]
    keys += ["trending", "rating_count", "rating_sum", *(f"ratings_{r}" for r in RATINGS)]
    return dict.fromkeys(keys, 0)


def usage_stats(docs: Iterable[Document], today: date) -> dict[str, int]:
    stats = {"invocations_7d": 0, "invocations_prev_7d": 0, "invocations_total": 0}
    consumers = 0
    for doc in docs:
        calls = int(doc.get("calls") or 0)
        if calls <= 0:
            continue
        consumers += 1
        this, prev = window_sums(doc.get("days") or {}, today)
        stats["invocations_7d"] += this
        stats["invocations_prev_7d"] += prev
        stats["invocations_total"] += calls
    stats["consumers"] = consumers
    stats["trending"] = trending(stats["invocations_7d"], stats["invocations_prev_7d"])
    return stats


def rating_stats(docs: Iterable[Document]) -> dict[str, int]:
    stats = {f"ratings_{r}": 0 for r in RATINGS}
    for doc in docs:
        rating = doc.get("rating")
        if doc.get("hidden") is False and isinstance(rating, int) and rating in RATINGS:
            stats[f"ratings_{rating}"] += 1
    stats["rating_count"] = sum(stats.values())
    stats["rating_sum"] = sum(r * stats[f"ratings_{r}"] for r in RATINGS)
    return stats


def pages(store: ReadStore, collection: str, where: dict[str, Any]) -> Iterator[Document]:
    """Every matching document, a page at a time (a popular model has many)."""
    cursor: Cursor | None = None
    while True:
        page = store.find(collection, where, limit=PAGE, cursor=cursor)
        yield from page.items
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


class ModelStats:
    def __init__(self, app: EventStore, store: ReadStore, clock: Clock) -> None:
        self.app, self.store, self.clock = app, store, clock

    def compute(self, model_id: UUID | str) -> dict[str, int]:
        """The model's figures now, from the `usage` and `reviews` read models."""
        today = self._today()
        key = str(model_id)
        usage = usage_stats(pages(self.store, USAGE, {"model_id": key}), today)
        # A missing `reviews` collection reads as empty: no ratings yet.
        ratings = rating_stats(pages(self.store, REVIEWS, {"model_id": key, "hidden": False}))
        return {**usage, **ratings}

    def refresh(self, model_ids: Iterable[UUID | str]) -> int:
        """Recompute and record each model's figures; return how many changed."""
        changed = 0
        for model_id in sorted({str(m) for m in model_ids}):
            changed += self._write(UUID(model_id), self.compute(model_id))
        return changed

    def refresh_all(self, everything: bool = False) -> int:
        """The daily window shift: every model used in the last 15 days; `everything`:
        every model with any usage or review. Returns how many changed."""
        docs: Iterable[Document]
        if everything:
            docs = chain(pages(self.store, USAGE, {}), pages(self.store, REVIEWS, {}))
        else:
            docs = pages(self.store, USAGE, {"last_day": recent_days(self._today())})
        # Only the ids are kept: a page of documents at a time, not the whole collection.
        return self.refresh({str(d["model_id"]) for d in docs if d.get("model_id")})

    def _today(self) -> date:
        return self.clock.now().astimezone(UTC).date()  # days are UTC days

    def _write(self, model_id: UUID, stats: dict[str, int]) -> int:
        for attempt in range(1, WRITE_ATTEMPTS + 1):
            try:
                model = self.app.load(Model, model_id)
            except NotFound:
                return 0  # usage of a model id that names no model: nothing to roll up into
            if not model.stats and stats == empty_stats():
                return 0  # an unused model needs no event to say so
            model.update_stats(stats)
            try:
                return 1 if self.app.save(model) else 0
            except IntegrityError:
                # The publisher (or another refresher) wrote the model meanwhile: reload.
                if attempt == WRITE_ATTEMPTS:
                    raise
                log.info("model %s changed while refreshing its stats; retrying", model_id)
        return 0
