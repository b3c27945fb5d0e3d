"""One process at a time creates the event store's tables.

eventsourcing creates its tables with CREATE TABLE IF NOT EXISTS when an application or
recorder starts. Two processes doing that at the same moment (the relay, the workers
and the API all start together) can make PostgreSQL fail one of them with "tuple
concurrently updated" or a duplicate pg_type row. An advisory lock around start-up
turns that race into a short wait. A database that is away when a process starts (it is
restarting) is waited for, up to two minutes, rather than ending the process.
"""

from __future__ import annotations

import time
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
    with _connected(database_url) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK_KEY,))
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (SCHEMA_LOCK_KEY,))


def _connected(database_url: str, wait_s: float = 120) -> psycopg.Connection[object]:
    deadline = time.monotonic() + wait_s
    while True:
        try:
            return psycopg.connect(database_url, autocommit=True, connect_timeout=10)
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)
