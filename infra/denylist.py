"""Denied access-token ids, kept in the profile's database until they expire anyway."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

from psycopg_pool import ConnectionPool


def _now() -> float:
    return datetime.now(UTC).timestamp()


class SqliteDenylist:
    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS denied_tokens (jti TEXT PRIMARY KEY, expires_at REAL)"
            )

    def deny(self, jti: str, expires_at: datetime) -> None:
        with self._lock:
            self._db.execute("DELETE FROM denied_tokens WHERE expires_at < ?", (_now(),))
            self._db.execute(
                "INSERT OR REPLACE INTO denied_tokens VALUES (?, ?)", (jti, expires_at.timestamp())
            )

    def is_denied(self, jti: str) -> bool:
        with self._lock:
            row = self._db.execute(
                "SELECT 1 FROM denied_tokens WHERE jti = ? AND expires_at >= ?", (jti, _now())
            ).fetchone()
        return row is not None

    def close(self) -> None:
        self._db.close()


class PostgresDenylist:
    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool
        with pool.connection() as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS aimarket_denied_tokens "
                "(jti TEXT PRIMARY KEY, expires_at TIMESTAMPTZ NOT NULL)"
            )

    def deny(self, jti: str, expires_at: datetime) -> None:
        with self._pool.connection() as conn:
            conn.execute("DELETE FROM aimarket_denied_tokens WHERE expires_at < now()")
            conn.execute(
                "INSERT INTO aimarket_denied_tokens VALUES (%s, %s) ON CONFLICT (jti) DO NOTHING",
                (jti, expires_at),
            )

    def is_denied(self, jti: str) -> bool:
        with self._pool.connection() as conn:
            row = conn.execute(
                "SELECT 1 FROM aimarket_denied_tokens WHERE jti = %s AND expires_at >= now()",
                (jti,),
            ).fetchone()
        return row is not None
