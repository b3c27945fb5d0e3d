"""The purchase saga's runners' shared parts, and the embedded one.

Embedded: a thread of the API process follows the log for Purchase events (its own
position, "purchases") and advances each purchase; cluster: the faust agent in
workers/purchase_app.py does the same from `aimarket.events.purchase`. Both sweep on a
timer: open purchases (a payment pending past its timeout, a step that failed and was
left) are advanced again, which is harmless for the rest (every step is idempotent).
"""

from __future__ import annotations

import logging
import time
from typing import Any
from uuid import UUID

from eventsourcing.utils import get_topic

from commands.event_store import EventStore
from commands.purchase_saga import PurchaseSaga
from domain.purchase import Purchase
from projections.ports import ReadStore
from queries.purchases import PurchaseQueries
from workers.follower import LogFollower

log = logging.getLogger("aimarket.purchases")
TRACKER = "purchases"


def purchase_topics() -> list[str]:
    events = [getattr(Purchase, name) for name in vars(Purchase) if name[:1].isupper()]
    return sorted(get_topic(e) for e in events if isinstance(e, type))


def advance_quietly(saga: PurchaseSaga, purchase_id: UUID) -> None:
    """Advance one purchase; a failure is logged and left to the sweep, so one purchase
    whose provider is away holds up no other."""
    try:
        saga.advance(purchase_id)
    except Exception as error:
        log.warning(
            "purchase %s: step failed (%s: %s); the sweep retries it",
            purchase_id,
            type(error).__name__,
            error,
        )


class Sweep:
    """Advance every open purchase, at most once per `interval_s`."""

    def __init__(self, saga: PurchaseSaga, queries: PurchaseQueries, interval_s: float) -> None:
        self.saga, self.queries, self.interval_s = saga, queries, interval_s
        self._last = 0.0

    def __call__(self) -> None:
        if time.monotonic() - self._last < self.interval_s:
            return
        self._last = time.monotonic()
        self.run()

    def run(self) -> int:
        ids = self.queries.open_ids()
        for purchase_id in ids:
            advance_quietly(self.saga, purchase_id)
        return len(ids)


def embedded_runner(
    app: EventStore, store: ReadStore, saga: PurchaseSaga, sweep_interval_s: float
) -> LogFollower:
    def handle(event: Any) -> None:
        advance_quietly(saga, UUID(str(event.originator_id)))

    follower = LogFollower(TRACKER, app, store, purchase_topics(), handle)
    follower.ticks.append(Sweep(saga, PurchaseQueries(store), sweep_interval_s))
    return follower
