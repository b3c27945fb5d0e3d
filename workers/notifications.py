"""Reading the application's notification log in order, as our envelopes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from eventsourcing.application import Application
from eventsourcing.persistence import Notification

from domain.envelope import Enveloper


@runtime_checkable
class OrderedNotifications(Protocol):
    """A recorder that reads the notifications after a position more cheaply than the
    library's `select_notifications` (infra/notification_log.py on PostgreSQL, chosen by
    the composition root)."""

    def notifications_after(self, position: int, limit: int) -> Sequence[Notification]: ...


def notifications_after(app: Application[Any], position: int, limit: int) -> Sequence[Notification]:
    """Up to `limit` stored notifications after `position`, oldest first.

    Gaps in positions are normal (a rolled-back insert burns ids) and are never
    filled later, so asking for `id > position` misses nothing and never waits.
    """
    recorder = app.recorder
    if isinstance(recorder, OrderedNotifications):
        return recorder.notifications_after(position, limit)
    return recorder.select_notifications(start=position + 1, limit=limit, inclusive_of_start=True)


def read_after(
    app: Application[Any], position: int, limit: int
) -> list[tuple[int, dict[str, Any]]]:
    """Up to `limit` (position, envelope) pairs after `position`, oldest first."""
    to_domain_event, envelope = app.mapper.to_domain_event, Enveloper().envelope
    return [(n.id, envelope(to_domain_event(n))) for n in notifications_after(app, position, limit)]


def last_position(app: Application[Any]) -> int:
    return app.recorder.max_notification_id() or 0
