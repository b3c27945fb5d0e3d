"""The notifier's runners' shared parts, and the embedded one.

Embedded: a thread of the API process follows the log for the events that notify (its
own position, "notifier") and hands each to the notifier; cluster: the faust agent in
workers/notifier_app.py does the same from the aggregates' topics. A failed channel (the
SMTP server away) raises, and the follower hands the same event over again with backoff;
the channels that were done skip it then.
"""

from __future__ import annotations

from typing import Any

from eventsourcing.utils import get_topic

from commands.event_store import EventStore
from commands.notifier import Notifier
from domain.budget import Budget
from domain.envelope import Enveloper
from domain.ledger import PublisherLedger
from domain.purchase import Purchase
from domain.subscription import Subscription
from projections.ports import ReadStore
from workers.follower import LogFollower

TRACKER = "notifier"
EVENTS = {
    Purchase: ("Completed", "PaymentFailed"),
    Subscription: ("PastDue", "Canceled"),
    Budget: ("ThresholdNotified",),
    PublisherLedger: ("PayoutEnded",),
}


def notifier_topics() -> list[str]:
    """The stored events' topics the embedded follower reads (nothing else is news)."""
    return sorted(get_topic(getattr(kind, name)) for kind, names in EVENTS.items()
                  for name in names)  # fmt: skip


def embedded_notifier(app: EventStore, store: ReadStore, notifier: Notifier) -> LogFollower:
    enveloper = Enveloper()

    def handle(event: Any) -> None:
        notifier.handle(enveloper.envelope(event))

    return LogFollower(TRACKER, app, store, notifier_topics(), handle)
