"""Where people's browser sessions live on the server, keyed by the hash of the cookie.

A record holds the tokens of one refresh-token family (the API's LoginSession), so a
page acts with exactly what an API login would get. The cookie's value itself is never
stored: a copy of this table cannot be replayed as a cookie.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from psycopg_pool import ConnectionPool


@dataclass(frozen=True)
class WebSessionRecord:
    user_id: str
    family_id: str  # the LoginSession's id: logout ends it
    access_token: str
    refresh_token: str
    expires_at: float  # the refresh token's expiry, a POSIX timestamp

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> WebSessionRecord:
        return cls(**json.loads(text))


class WebSessionStore(Protocol):
    def put(self, id_hash: str, record: WebSessionRecord, now: datetime) -> None: ...
    def get(self, id_hash: str, now: datetime) -> WebSessionRecord | None: ...
    def delete(self, id_hash: str) -> None: ...

    def claim(self, id_hash: str, until: datetime, now: datetime) -> bool:
        """Whether this caller may refresh the session now: true for one caller (of any
        process) at a time, until it releases the claim or the claim's time runs out."""
        ...

    def release(self, id_hash: str) -> None: ...


class SqliteWebSessions:
    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS web_sessions "
                "(id_hash TEXT PRIMARY KEY, record TEXT NOT NULL, expires_at REAL NOT NULL)"
            )
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS web_session_claims "
                "(id_hash TEXT PRIMARY KEY, until REAL NOT NULL)"
            )

    def put(self, id_hash: str, record: WebSessionRecord, now: datetime) -> None:
        with self._lock:
            self._db.execute("DELETE FROM web_sessions WHERE expires_at < ?", (now.timestamp(),))
            self._db.execute(
                "INSERT OR REPLACE INTO web_sessions VALUES (?, ?, ?)",
                (id_hash, record.to_json(), record.expires_at),
            )

    def get(self, id_hash: str, now: datetime) -> WebSessionRecord | None:
        with self._lock:
            row = self._db.execute(
                "SELECT record FROM web_sessions WHERE id_hash = ? AND expires_at >= ?",
                (id_hash, now.timestamp()),
            ).fetchone()
        return WebSessionRecord.from_json(row[0]) if row else None

    def delete(self, id_hash: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM web_sessions WHERE id_hash = ?", (id_hash,))

    def claim(self, id_hash: str, until: datetime, now: datetime) -> bool:
        with self._lock:
            claimed = self._db.execute(
                "INSERT INTO web_session_claims VALUES (?, ?) ON CONFLICT (id_hash) "
                "DO UPDATE SET until = excluded.until WHERE web_session_claims.until < ?",
                (id_hash, until.timestamp(), now.timestamp()),
            )
            return claimed.rowcount == 1

    def release(self, id_hash: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM web_session_claims WHERE id_hash = ?", (id_hash,))

    def close(self) -> None:
        self._db.close()


class PostgresWebSessions:
    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool
        with pool.connection() as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS aimarket_web_sessions (id_hash TEXT PRIMARY KEY, "
                "record TEXT NOT NULL, expires_at DOUBLE PRECISION NOT NULL)"
            )
            conn.execute(
                "CREATE TABLE IF NOT EXISTS aimarket_web_session_claims "
                "(id_hash TEXT PRIMARY KEY, until DOUBLE PRECISION NOT NULL)"
            )

    def put(self, id_hash: str, record: WebSessionRecord, now: datetime) -> None:
        with self._pool.connection() as conn:
            conn.execute(
                "DELETE FROM aimarket_web_sessions WHERE expires_at < %s", (now.timestamp(),)
            )
            conn.execute(
                "INSERT INTO aimarket_web_sessions VALUES (%s, %s, %s) ON CONFLICT (id_hash) "
                "DO UPDATE SET record = excluded.record, expires_at = excluded.expires_at",
                (id_hash, record.to_json(), record.expires_at),
            )

    def get(self, id_hash: str, now: datetime) -> WebSessionRecord | None:
        with self._pool.connection() as conn:
            row = conn.execute(
                "SELECT record FROM aimarket_web_sessions WHERE id_hash = %s AND expires_at >= %s",
                (id_hash, now.timestamp()),
            ).fetchone()
        return WebSessionRecord.from_json(row[0]) if row else None

    def delete(self, id_hash: str) -> None:
        with self._pool.connection() as conn:
            conn.execute("DELETE FROM aimarket_web_sessions WHERE id_hash = %s", (id_hash,))

    def claim(self, id_hash: str, until: datetime, now: datetime) -> bool:
        with self._pool.connection() as conn:
            claimed = conn.execute(
                "INSERT INTO aimarket_web_session_claims VALUES (%s, %s) ON CONFLICT (id_hash) "
                "DO UPDATE SET until = excluded.until "
                "WHERE aimarket_web_session_claims.until < %s",
                (id_hash, until.timestamp(), now.timestamp()),
            )
            return claimed.rowcount == 1

    def release(self, id_hash: str) -> None:
        with self._pool.connection() as conn:
            conn.execute("DELETE FROM aimarket_web_session_claims WHERE id_hash = %s", (id_hash,))
