"""Reading the application's notification log in order, as our envelopes."""

from __future__ import annotations

from typing import Any

from eventsourcing.application import Application

from domain.envelope import envelope


def read_after(
    app: Application[Any], position: int, limit: int
) -> list[tuple[int, dict[str, Any]]]:
    """Up to `limit` (position, envelope) pairs after `position`, oldest first.

    Gaps in positions are normal (a rolled-back insert burns ids) and are never
    filled later, so asking for `id > position` misses nothing and never waits.
    """
    notifications = app.recorder.select_notifications(
        start=position + 1, limit=limit, inclusive_of_start=True
    )
    return [(n.id, envelope(app.mapper.to_domain_event(n))) for n in notifications]


def last_position(app: Application[Any]) -> int:
    return app.recorder.max_notification_id() or 0
