"""The notifications' wiring: the notifier (and, embedded, its in-process follower), the
in-app list's queries and read marks. The cluster runs `aimarket worker notifier`
(infra/cluster.py) instead of the follower."""

from __future__ import annotations

from dataclasses import dataclass

from commands.event_store import EventStore
from commands.notifier import NotificationInbox, Notifier
from commands.ports import Mailer
from commands.webhooks import WebhookService
from domain.clock import Clock
from infra.notify_mail import JinjaEmailTemplates
from projections.ports import ReadStore
from queries.notifications import NotificationQueries
from workers.follower import LogFollower
from workers.notifier import embedded_notifier


@dataclass
class NotifySide:
    notifier: Notifier
    notifications: NotificationQueries
    inbox: NotificationInbox
    runner: LogFollower | None  # embedded: follows the log in process


def notifier(app: EventStore, store: ReadStore, mailer: Mailer, webhooks: WebhookService
             ) -> Notifier:  # fmt: skip
    return Notifier(app, store, mailer, JinjaEmailTemplates(), webhooks)


def notify_side(
    app: EventStore,
    store: ReadStore,
    mailer: Mailer,
    webhooks: WebhookService,
    clock: Clock,
    embedded: bool,
) -> NotifySide:
    built = notifier(app, store, mailer, webhooks)
    runner = None
    if embedded:
        runner = embedded_notifier(app, store, built)
        app.on_saved.append(runner.nudge)
    return NotifySide(built, NotificationQueries(store), NotificationInbox(store, clock), runner)
