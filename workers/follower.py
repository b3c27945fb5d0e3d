"""A thread that follows the event store's log for some event topics, from a position
of its own kept in the read store, and hands each event to a handler.

The position moves past an event only once the handler is done with it, so a crash
hands it over again (handlers are idempotent); a handler that raises is retried with
backoff. Woken after each save (`nudge`), else it looks every `idle_wait_s`. The
deployer (workers/deployer.py) and the purchase saga's embedded runner follow with it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

from commands.event_store import EventStore
from projections.ports import Position, ReadStore
from workers.notifications import last_position
from workers.tracing import consumed

log = logging.getLogger("aimarket.follower")
POSITION_COLLECTION = "models"  # any collection carries a position


class LogFollower:
    def __init__(
        self,
        name: str,
        app: EventStore,
        store: ReadStore,
        topics: Sequence[str],
        handle: Callable[[Any], None],
        batch: int = 100,
    ) -> None:
        self.name, self.app, self.store, self.handle = name, app, store, handle
        self.topics, self.batch = list(topics), batch
        self.stopping, self.wake = threading.Event(), threading.Event()
        self.ticks: list[Callable[[], None]] = []  # run on every wake-up (timers' work)
        self._thread: threading.Thread | None = None

    def position(self) -> int:
        return self.store.position(self.name)

    def run_once(self) -> bool:
        """Handle the next stretch of the log; False when there was nothing new."""
        start, head = self.position(), last_position(self.app)
        if head <= start:
            return False
        found = self.app.recorder.select_notifications(
            start=start + 1, limit=self.batch, stop=head, topics=self.topics
        )
        decode = self.app.traced_event
        for notification in found:
            if self.stopping.is_set():
                return False
            event, parent = decode(notification)
            with consumed(self.name, [parent]):  # the trace the event was saved in goes on
                self.handle(event)
            self._advance(notification.id)
        # Commit order is id order: a short answer means nothing of ours lies before `head`.
        if len(found) < self.batch:
            self._advance(head)
        return True

    def _advance(self, position: int) -> None:
        self.store.apply(POSITION_COLLECTION, [], Position(self.name, position))

    def run_forever(self, idle_wait_s: float = 1.0) -> None:
        backoff = 0.1
        while not self.stopping.is_set():
            try:
                while self.run_once() and not self.stopping.is_set():
                    pass
                for tick in self.ticks:
                    tick()
                backoff = 0.1
            except Exception:  # a provider or a store is away: the same event, shortly
                log.exception("%s step failed; retrying in %.1fs", self.name, backoff)
                self.stopping.wait(backoff)
                backoff = min(backoff * 2, 30.0)
                continue
            self.wake.wait(idle_wait_s)
            self.wake.clear()

    def nudge(self, _position: object = None) -> None:
        self.wake.set()

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run_forever, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
