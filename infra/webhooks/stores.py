"""The webhook store on SQLite (embedded) and PostgreSQL (cluster): endpoints, the sealed
signing secrets, deliveries with their attempt log. Dispatchers take due deliveries with
`FOR UPDATE SKIP LOCKED` on PostgreSQL (several `aimarket worker webhooks` at once) and
under one write lock on SQLite."""

from __future__ import annotations

import json
import sqlite3
import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from uuid import UUID

from psycopg_pool import ConnectionPool

from commands.webhook_ports import FAILED, PENDING, Attempt, Delivery, Endpoint, SecretPair

EP, SEC, DEL = (
    "aimarket_webhook_endpoints",
    "aimarket_webhook_secrets",
    "aimarket_webhook_deliveries",
)
D_COLS = (
    "id, owner_id, endpoint_id, url, event_type, payload, status, created_at, "
    "next_attempt_at, give_up_at, attempts"
)


def schema(real: str) -> list[str]:
    return [
        f"CREATE TABLE IF NOT EXISTS {EP} (id TEXT PRIMARY KEY, owner_id TEXT NOT NULL, "
        f"url TEXT NOT NULL, description TEXT NOT NULL, created_at {real} NOT NULL)",
        f"CREATE INDEX IF NOT EXISTS {EP}_owner ON {EP} (owner_id, created_at)",
        f"CREATE TABLE IF NOT EXISTS {SEC} (owner_id TEXT PRIMARY KEY, current TEXT NOT NULL, "
        f"previous TEXT, previous_until {real})",
        f"CREATE TABLE IF NOT EXISTS {DEL} (id TEXT PRIMARY KEY, owner_id TEXT NOT NULL, "
        f"endpoint_id TEXT NOT NULL, url TEXT NOT NULL, event_type TEXT NOT NULL, "
        f"payload TEXT NOT NULL, status TEXT NOT NULL, created_at {real} NOT NULL, "
        f"next_attempt_at {real} NOT NULL, give_up_at {real} NOT NULL, attempts TEXT NOT NULL)",
        f"CREATE INDEX IF NOT EXISTS {DEL}_due ON {DEL} (status, next_attempt_at)",
        f"CREATE INDEX IF NOT EXISTS {DEL}_owner ON {DEL} (owner_id, created_at, id)",
    ]


def _delivery(row: Sequence[Any]) -> Delivery:
    attempts = [Attempt(**item) for item in json.loads(row[10])]
    return Delivery(
        UUID(row[0]), UUID(row[1]), UUID(row[2]), row[3], row[4], row[5], row[6],
        row[7], row[8], row[9], attempts,
    )  # fmt: skip


def _delivery_row(d: Delivery) -> tuple[Any, ...]:
    attempts = json.dumps([a.as_json() for a in d.attempts])
    return (
        str(d.id), str(d.owner_id), str(d.endpoint_id), d.url, d.event_type, d.payload,
        d.status, d.created_at, d.next_attempt_at, d.give_up_at, attempts,
    )  # fmt: skip


class SqlWebhookStore(ABC):
    _due_sql = f"SELECT {D_COLS} FROM {DEL} WHERE status = %s AND next_attempt_at <= %s "

    @abstractmethod
    def _run(self, sql: str, params: tuple[Any, ...] = ()) -> tuple[list[Any], int]: ...

    @abstractmethod
    def take_due(self, now: float, hold_until: float, limit: int) -> list[Delivery]: ...

    def add_endpoint(self, endpoint: Endpoint) -> None:
        e = endpoint
        row = (str(e.id), str(e.owner_id), e.url, e.description, e.created_at)
        self._run(f"INSERT INTO {EP} VALUES (%s, %s, %s, %s, %s)", row)

    def endpoints(self, owner_id: UUID) -> list[Endpoint]:
        sql = f"SELECT * FROM {EP} WHERE owner_id = %s ORDER BY created_at, id"
        rows, _ = self._run(sql, (str(owner_id),))
        return [Endpoint(UUID(r[0]), UUID(r[1]), r[2], r[3], r[4]) for r in rows]

    def delete_endpoint(self, owner_id: UUID, endpoint_id: UUID, now: float) -> bool:
        ids = (str(endpoint_id), str(owner_id))
        _, count = self._run(f"DELETE FROM {EP} WHERE id = %s AND owner_id = %s", ids)
        if count:  # its pending deliveries end here: there is nowhere to send them
            sql = f"UPDATE {DEL} SET status = %s WHERE endpoint_id = %s AND status = %s"
            self._run(sql, (FAILED, str(endpoint_id), PENDING))
        return count == 1

    def secrets(self, owner_id: UUID) -> SecretPair | None:
        sql = f"SELECT current, previous, previous_until FROM {SEC} WHERE owner_id = %s"
        rows, _ = self._run(sql, (str(owner_id),))
        if not rows:
            return None
        current, previous, until = rows[0]
        return SecretPair(current.encode(), previous.encode() if previous else None, until)

    def put_secrets(self, owner_id: UUID, pair: SecretPair) -> None:
        previous = pair.previous.decode() if pair.previous else None
        row = (str(owner_id), pair.current.decode(), previous, pair.previous_until)
        self._run(
            f"INSERT INTO {SEC} VALUES (%s, %s, %s, %s) ON CONFLICT (owner_id) DO UPDATE SET "
            "current = excluded.current, previous = excluded.previous, "
            "previous_until = excluded.previous_until",
            row,
        )

    def add_deliveries(self, deliveries: list[Delivery]) -> None:
        for d in deliveries:
            # A delivery made again (an account event handed over twice) is the same row.
            self._run(f"INSERT INTO {DEL} ({D_COLS}) VALUES ({', '.join(['%s'] * 11)}) "
                      "ON CONFLICT (id) DO NOTHING", _delivery_row(d))  # fmt: skip

    def record(self, delivery_id: UUID, attempt: Attempt, status: str, next_at: float) -> None:
        found = self.delivery(delivery_id)
        if found is None:
            return
        attempts = json.dumps([a.as_json() for a in [*found.attempts, attempt]])
        sql = f"UPDATE {DEL} SET status = %s, next_attempt_at = %s, attempts = %s WHERE id = %s"
        self._run(sql, (status, next_at, attempts, str(delivery_id)))

    def delivery(self, delivery_id: UUID) -> Delivery | None:
        rows, _ = self._run(f"SELECT {D_COLS} FROM {DEL} WHERE id = %s", (str(delivery_id),))
        return _delivery(rows[0]) if rows else None

    def deliveries(
        self, owner_id: UUID, endpoint_id: UUID | None, after: tuple[float, str] | None, limit: int
    ) -> list[Delivery]:
        sql = f"SELECT {D_COLS} FROM {DEL} WHERE owner_id = %s"
        params: list[Any] = [str(owner_id)]
        if endpoint_id is not None:
            sql, params = sql + " AND endpoint_id = %s", [*params, str(endpoint_id)]
        if after is not None:
            sql += " AND (created_at < %s OR (created_at = %s AND id < %s))"
            params += [after[0], after[0], after[1]]
        rows, _ = self._run(sql + " ORDER BY created_at DESC, id DESC LIMIT %s", (*params, limit))
        return [_delivery(row) for row in rows]

    def redeliver(self, delivery_id: UUID, now: float) -> None:
        sql = f"UPDATE {DEL} SET status = %s, next_attempt_at = %s, give_up_at = %s WHERE id = %s"
        self._run(sql, (PENDING, now, now, str(delivery_id)))


class SqliteWebhookStore(SqlWebhookStore):
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._lock = threading.RLock()
        self._db.execute("PRAGMA journal_mode=WAL")
        for statement in schema("REAL"):
            self._db.execute(statement)

    def _run(self, sql: str, params: tuple[Any, ...] = ()) -> tuple[list[Any], int]:
        with self._lock:
            cursor = self._db.execute(sql.replace("%s", "?"), params)
            return cursor.fetchall(), cursor.rowcount

    def take_due(self, now: float, hold_until: float, limit: int) -> list[Delivery]:
        with self._lock:
            rows, _ = self._run(self._due_sql + "ORDER BY next_attempt_at LIMIT %s",
                                (PENDING, now, limit))  # fmt: skip
            for row in rows:
                self._run(f"UPDATE {DEL} SET next_attempt_at = %s WHERE id = %s",
                          (hold_until, row[0]))  # fmt: skip
        return [_delivery(row) for row in rows]

    def close(self) -> None:
        self._db.close()


class PostgresWebhookStore(SqlWebhookStore):
    def __init__(self, pool: ConnectionPool) -> None:
        """Make the tables; call under infra.schema_lock."""
        self._pool = pool
        with pool.connection() as conn:
            for statement in schema("DOUBLE PRECISION"):
                conn.execute(statement)

    def _run(self, sql: str, params: tuple[Any, ...] = ()) -> tuple[list[Any], int]:
        with self._pool.connection() as conn:
            cursor = conn.execute(sql, params)
            return (cursor.fetchall() if cursor.description else []), cursor.rowcount

    def take_due(self, now: float, hold_until: float, limit: int) -> list[Delivery]:
        sql = (
            f"UPDATE {DEL} SET next_attempt_at = %s WHERE id IN ("
            f"SELECT id FROM {DEL} WHERE status = %s AND next_attempt_at <= %s "
            f"ORDER BY next_attempt_at LIMIT %s FOR UPDATE SKIP LOCKED) RETURNING {D_COLS}"
        )
        rows, _ = self._run(sql, (hold_until, PENDING, now, limit))
        return [_delivery(row) for row in rows]
