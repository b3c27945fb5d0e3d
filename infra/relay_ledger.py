"""Where the relay keeps its place, in PostgreSQL beside the event store.

The position goes through eventsourcing's tracking recorder (it only moves
forward). The last position sent to each topic partition is kept too: the read
side's `wait_for` needs it to know when a partition has nothing older pending.
"""

from __future__ import annotations

import psycopg
from eventsourcing.persistence import (
    InfrastructureFactory,
    IntegrityError,
    InterfaceError,
    OperationalError,
    Tracking,
)
from eventsourcing.utils import Environment, retry
from psycopg_pool import ConnectionPool

APPLICATION = "Marketplace"
PARTITIONS_TABLE = "aimarket_relay_partitions"
# A database restarting (a crash, a failover) is waited out for about a minute: the relay
# keeps its batch and records it then, rather than exiting with it unrecorded.
AWAY = (psycopg.OperationalError, OperationalError, InterfaceError)


class PostgresRelayLedger:
    def __init__(self, event_store_env: dict[str, str], pool: ConnectionPool) -> None:
        factory = InfrastructureFactory.construct(Environment("Relay", event_store_env))
        self._tracking = factory.tracking_recorder()
        self._pool = pool
        with pool.connection() as conn:
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {PARTITIONS_TABLE} "
                "(topic TEXT, partition INT, position BIGINT, PRIMARY KEY (topic, partition))"
            )

    def position(self) -> int:
        return self._tracking.max_tracking_id(APPLICATION) or 0

    @retry(AWAY, max_attempts=300, wait=0.2)
    def record(self, position: int, partitions: dict[tuple[str, int], int]) -> None:
        # Partitions first: if we crash before the tracking row, they only run ahead,
        # which makes `wait_for` wait a little longer, never return early. Both writes
        # may be made again (a retry after a lost answer): GREATEST, and a tracking row
        # already there.
        if partitions:  # one statement for all of them: the relay records every batch
            rows = list(partitions.items())
            with self._pool.connection() as conn:
                conn.execute(
                    f"INSERT INTO {PARTITIONS_TABLE} "
                    "SELECT * FROM unnest(%s::text[], %s::int[], %s::bigint[]) "
                    "ON CONFLICT (topic, partition) DO UPDATE SET position = "
                    f"GREATEST({PARTITIONS_TABLE}.position, EXCLUDED.position)",
                    (
                        [topic for (topic, _), _ in rows],
                        [partition for (_, partition), _ in rows],
                        [last for _, last in rows],
                    ),
                )
        try:
            self._tracking.insert_tracking(Tracking(APPLICATION, position))
        except IntegrityError:  # recorded by the attempt whose answer was lost
            if self.position() < position:
                raise

    def partitions(self) -> dict[tuple[str, int], int]:
        with self._pool.connection() as conn:
            rows = conn.execute(f"SELECT topic, partition, position FROM {PARTITIONS_TABLE}")
            return {(t, p): pos for t, p, pos in rows.fetchall()}
