"""Reading the application's notification log in order, as our envelopes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.application import Application
from eventsourcing.persistence import InterfaceError, Notification, OperationalError
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.utils import retry
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Identifier

from domain.envelope import envelope


def notifications_after(app: Application[Any], position: int, limit: int) -> Sequence[Notification]:
    """Up to `limit` stored notifications after `position`, oldest first.

    Gaps in positions are normal (a rolled-back insert burns ids) and are never
    filled later, so asking for `id > position` misses nothing and never waits.
    """
    recorder = app.recorder
    if isinstance(recorder, PostgresApplicationRecorder):
        found: list[Notification] = _postgres_after(recorder, position, limit)
        return found
    return recorder.select_notifications(start=position + 1, limit=limit, inclusive_of_start=True)


@retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
def _postgres_after(
    recorder: PostgresApplicationRecorder, position: int, limit: int
) -> list[Notification]:
    """`select_notifications` as the library writes it, in psycopg's binary format and as
    tuples rather than dicts: a third of the cost per row, and the relay reads every row."""
    statement = SQL(
        "SELECT notification_id, originator_id, originator_version, topic, state FROM {}.{} "
        "WHERE notification_id > %s ORDER BY notification_id LIMIT %s"
    ).format(Identifier(recorder.datastore.schema), Identifier(recorder.events_table_name))
    with (
        recorder.datastore.get_connection() as conn,
        conn.cursor(row_factory=tuple_row, binary=True) as curs,
    ):
        curs.execute(statement, (position, limit), prepare=True)
        rows = curs.fetchall()
    return [
        Notification(id=i, originator_id=o, originator_version=v, topic=t, state=s)
        for i, o, v, t, s in rows
    ]


def read_after(
    app: Application[Any], position: int, limit: int
) -> list[tuple[int, dict[str, Any]]]:
    """Up to `limit` (position, envelope) pairs after `position`, oldest first."""
    to_domain_event = app.mapper.to_domain_event
    return [(n.id, envelope(to_domain_event(n))) for n in notifications_after(app, position, limit)]


def last_position(app: Application[Any]) -> int:
    return app.recorder.max_notification_id() or 0
