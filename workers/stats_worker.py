"""What sets the model-stats roll-up off: usage and review events, and the clock.

Embedded profile: `StatsTrigger` is a hook of the in-process runner; it collects the
events of each applied batch and refreshes their models on its own thread, so a
roll-up never holds up the projections. Cluster profile: `StatsWorker`
(`aimarket worker stats`) follows the event store's notification log like the relay,
waits until the read models reflect what it read, then refreshes. Both re-roll every
recently used model once an hour, which moves the seven-day windows on.

Either can be stopped at any point: a refresh is recomputed from the read models and
records an event only when a figure changed, so doing one twice is harmless.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable

from eventsourcing.domain import CanMutateAggregate
from eventsourcing.utils import get_topic

from commands.event_store import EventStore
from commands.model_stats import ModelStats
from domain.envelope import Enveloper
from domain.review import Review
from domain.usage import Usage
from projections.base import Envelope
from projections.ports import Position, ReadStore
from queries.progress import ProjectionProgress
from workers.notifications import last_position
from workers.topics import aggregate_of

log = logging.getLogger("aimarket.stats")
TRACKER = "stats"
REFRESH_ALL_EVERY_S = 3600.0
# Aggregates whose events move a model's figures -> the read model that names the model
# for events that do not carry `model_id` themselves (Usage.Recorded, Review.Hidden).
SOURCES = {"usage": "usage", "review": "reviews"}


def source_topics(*aggregates: type) -> list[str]:
    """The stored-event topics of the aggregates' events, for a filtered log read."""
    return sorted(
        get_topic(value)
        for aggregate in aggregates
        for value in vars(aggregate).values()
        if isinstance(value, type) and issubclass(value, CanMutateAggregate)
    )


def moves_stats(envelope: Envelope) -> bool:
    return aggregate_of(envelope) in SOURCES


def model_ids_of(envelopes: Iterable[Envelope], store: ReadStore) -> set[str]:
    """The models whose figures these events change; read models must reflect them."""
    known: dict[str, str] = {}  # aggregate id -> model id
    unknown: dict[str, set[str]] = {}  # read model -> aggregate ids to look up
    for item in envelopes:
        aggregate = aggregate_of(item)
        if aggregate not in SOURCES:
            continue
        aggregate_id, model_id = str(item["aggregate_id"]), item["data"].get("model_id")
        if model_id:
            known[aggregate_id] = str(model_id)
        else:
            unknown.setdefault(SOURCES[aggregate], set()).add(aggregate_id)
    for collection, ids in unknown.items():
        missing = sorted(ids - known.keys())
        for doc_id, doc in store.get_many(collection, missing).items():
            if doc.get("model_id"):
                known[doc_id] = str(doc["model_id"])
    return set(known.values())


class StatsTrigger:
    """The embedded runner's hook: refresh the models of each batch, off its thread."""

    def __init__(
        self, stats: ModelStats, store: ReadStore, refresh_all_every_s: float = REFRESH_ALL_EVERY_S
    ) -> None:
        self.stats, self.store, self.every_s = stats, store, refresh_all_every_s
        self._pending: list[Envelope] = []
        self._lock = threading.Lock()
        self._wake, self._stopping = threading.Event(), threading.Event()
        self._thread: threading.Thread | None = None

    def __call__(self, envelopes: list[Envelope]) -> None:
        mine = [e for e in envelopes if moves_stats(e)]
        if mine:
            with self._lock:
                self._pending.extend(mine)
            self._wake.set()

    def run_once(self) -> int:
        """Refresh the models of every batch seen so far; return how many changed."""
        with self._lock:
            pending, self._pending = self._pending, []
        try:
            return self.stats.refresh(model_ids_of(pending, self.store)) if pending else 0
        except BaseException:
            with self._lock:  # keep them for the next try
                self._pending[:0] = pending
            raise

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="model-stats", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        _follow(self._stopping, self._wake, self.stats.refresh_all, self.run_once, self.every_s)


class StatsWorker:
    """The cluster profile's roll-up: follows the log, keeps its position under "stats"."""

    def __init__(
        self,
        app: EventStore,
        store: ReadStore,
        progress: ProjectionProgress,
        stats: ModelStats,
        batch: int = 1000,
        refresh_all_every_s: float = REFRESH_ALL_EVERY_S,
    ) -> None:
        self.app, self.store, self.progress, self.stats = app, store, progress, stats
        self.batch, self.every_s = batch, refresh_all_every_s
        self.topics = source_topics(Usage, Review)
        self.stopping, self.wake = threading.Event(), threading.Event()

    def position(self) -> int:
        return self.store.position(TRACKER)

    def run_once(self) -> bool:
        """Roll up the next stretch of the log; False when there was nothing new."""
        start, head = self.position(), last_position(self.app)
        if head <= start:
            return False
        # Only our aggregates' events come back; positions up to `head` are all committed
        # (commit order is id order), so a short answer means we have read up to `head`.
        found = self.app.recorder.select_notifications(
            start=start + 1, limit=self.batch, stop=head, topics=self.topics
        )
        end = found[-1].id if len(found) == self.batch else head
        if found:
            to_envelope, decode = Enveloper().envelope, self.app.mapper.to_domain_event
            envelopes = [to_envelope(decode(n)) for n in found]
            if not self._wait_for_read_models(found[-1].id):
                return False
            self.stats.refresh(model_ids_of(envelopes, self.store))
        # Any collection carries a position; the stats have none of their own.
        self.store.apply("usage", [], Position(TRACKER, end))
        return True

    def run_forever(self, idle_wait_s: float = 0.2) -> None:
        def catch_up() -> int:
            moved = 0
            while not self.stopping.is_set() and self.run_once():
                moved += 1
            return moved

        refresh_all = self.stats.refresh_all
        _follow(self.stopping, self.wake, refresh_all, catch_up, self.every_s, idle_wait_s)

    def _wait_for_read_models(self, position: int) -> bool:
        """Until the usage and reviews read models hold `position`; False if stopped."""
        pause, since = 0.01, time.monotonic()
        while not self.progress.reached(position):
            if self.stopping.wait(pause):
                return False
            pause = min(pause * 2, 0.5)
            if time.monotonic() - since > 60:
                log.warning("read models still short of position %d; waiting", position)
                since = time.monotonic()
        return True


def _follow(
    stopping: threading.Event,
    wake: threading.Event,
    refresh_all: Callable[[], int],
    step: Callable[[], int | bool],
    every_s: float,
    idle_wait_s: float = 1.0,
) -> None:
    """Run `step` whenever woken (or every `idle_wait_s`) and `refresh_all` every
    `every_s`, the first time at once; failures are logged and retried with backoff."""
    next_all, backoff = time.monotonic(), 0.1
    while not stopping.is_set():
        try:
            if time.monotonic() >= next_all:
                refresh_all()
                next_all = time.monotonic() + every_s
            step()
            backoff = 0.1
        except Exception:  # the read store or event store is away: try again shortly
            log.exception("model stats refresh failed; retrying in %.1fs", backoff)
            stopping.wait(backoff)
            backoff = min(backoff * 2, 30.0)
            continue
        wake.wait(timeout=min(idle_wait_s, max(next_all - time.monotonic(), 0.0)))
        wake.clear()
