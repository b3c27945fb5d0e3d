"""The embedded profile's runner: a thread in the `aimarket run` process that follows
the notification log and applies the projections, woken after every save.

Each read model's changes and its position go into the SQLite read store in one
transaction, so every event is applied exactly once even across crashes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from commands.event_store import EventStore
from projections.base import Envelope
from projections.ports import ReadStore
from workers.notifications import read_after
from workers.projector import Projector

log = logging.getLogger("aimarket.runner")
TRACKER = "embedded"


class EmbeddedRunner:
    def __init__(
        self, app: EventStore, projector: Projector, store: ReadStore, batch: int = 500
    ) -> None:
        self.app, self.projector, self.store, self.batch = app, projector, store, batch
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_error: str | None = None
        # Called with each batch once it is in the read models (the stats roll-up wants
        # them current); a hook must not raise, the batch is applied already.
        self.after_batch: list[Callable[[list[Envelope]], None]] = []

    def position(self) -> int:
        """How far every read model has got (the slowest one)."""
        names = [m.name for m in self.projector.models]
        return min(self.store.position(f"{TRACKER}:{name}") for name in names)

    def reached(self, position: int) -> bool:
        """ProjectionProgress, for `wait_for`."""
        return self.position() >= position

    def run_once(self) -> int:
        """Apply the next batch; return how many events it held."""
        batch = read_after(self.app, self.position(), self.batch)
        if batch:
            envelopes = [e for _, e in batch]
            self.projector.project(envelopes, batch[-1][0], TRACKER)
            for hook in self.after_batch:
                hook(envelopes)
        return len(batch)

    def run_until_idle(self) -> None:
        while self.run_once():
            pass

    def start(self) -> None:
        self.projector.ensure_indexes()
        self.app.on_saved.append(lambda _position: self._wake.set())
        self._thread = threading.Thread(target=self._loop, name="projections", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        backoff = 0.1
        while not self._stopping.is_set():
            try:
                if self.run_once():
                    backoff = 0.1
                    continue
                self.last_error = None
            except Exception as error:  # keep serving; report, back off, and try again
                self.last_error = f"{type(error).__name__}: {error}"
                log.exception("projection batch failed; retrying in %.1fs", backoff)
                time.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            self._wake.wait(timeout=1.0)
            self._wake.clear()
