"""One process at a time creates the event store's tables.

eventsourcing creates its tables with CREATE TABLE IF NOT EXISTS when an application or
recorder starts. Two processes doing that at the same moment (the relay, the workers
and the API all start together) can make PostgreSQL fail one of them with "tuple
concurrently updated" or a duplicate pg_type row. An advisory lock around start-up
turns that race into a short wait.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

SCHEMA_LOCK_KEY = 0x61696D6B  # "aimk": any constant every aimarket process agrees on


@contextmanager
def schema_lock(database_url: str | None) -> Iterator[None]:
    """Hold the lock while the block runs; no-op without PostgreSQL (SQLite serialises)."""
    if database_url is None:
        yield
        return
    with psycopg.connect(database_url, autocommit=True, connect_timeout=10) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK_KEY,))
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (SCHEMA_LOCK_KEY,))
