"""The event store's notification log read in order, fast, on PostgreSQL.

The composition root names this recorder in the library's settings
(`APPLICATION_RECORDER_TOPIC`, infra/bootstrap.py `postgres_env`), so every application
on the cluster's event store has it; the workers see only the port
(workers/notifications.py `OrderedNotifications`).
"""

from __future__ import annotations

from eventsourcing.persistence import InterfaceError, Notification, OperationalError
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.utils import retry
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Identifier


class OrderedPostgresRecorder(PostgresApplicationRecorder):
    @retry((InterfaceError, OperationalError), max_attempts=300, wait=0.2)  # a restart: ~1 min
    def notifications_after(self, position: int, limit: int) -> list[Notification]:
        """`select_notifications` as the library writes it, in psycopg's binary format and
        as tuples rather than dicts: a third of the cost per row, and the relay reads
        every row."""
        statement = SQL(
            "SELECT notification_id, originator_id, originator_version, topic, state FROM {}.{} "
            "WHERE notification_id > %s ORDER BY notification_id LIMIT %s"
        ).format(Identifier(self.datastore.schema), Identifier(self.events_table_name))
        with (
            self.datastore.get_connection() as conn,
            conn.cursor(row_factory=tuple_row, binary=True) as curs,
        ):
            curs.execute(statement, (position, limit), prepare=True)
            rows = curs.fetchall()
        return [
            Notification(id=i, originator_id=o, originator_version=v, topic=t, state=s)
            for i, o, v, t, s in rows
        ]
