"""The job store on SQLite (embedded, under the data directory) and on PostgreSQL (cluster,
the shared psycopg pool). One set of statements; each claim, finish and cancel is a single
conditional UPDATE, so two workers or a worker and a cancel cannot both win."""

from __future__ import annotations

import json
import sqlite3
import threading
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any
from uuid import UUID

from psycopg_pool import ConnectionPool

from commands.job_ports import CANCELED, QUEUED, RUNNING, Job, Outcome
from infra.jobs.rows import COLUMNS, from_row, table_sql, to_row

TABLE = "aimarket_jobs"
_INSERT = f"INSERT INTO {TABLE} ({COLUMNS}) VALUES ({', '.join(['%s'] * 16)})"
_CLAIM = (
    f"UPDATE {TABLE} SET status = %s, token = %s, started_at = %s, attempts = attempts + 1 "
    f"WHERE id = %s AND (status = %s OR (status = %s AND started_at < %s)) RETURNING {COLUMNS}"
)
_FINISH = (
    f"UPDATE {TABLE} SET status = %s, result = %s, error = %s, finished_at = %s, "
    f"expires_at = %s WHERE id = %s AND status = %s AND token = %s"
)
_CANCEL = (
    f"UPDATE {TABLE} SET status = %s, finished_at = %s, expires_at = %s "
    f"WHERE id = %s AND status IN (%s, %s) RETURNING {COLUMNS}"
)
_PAGE = f"SELECT {COLUMNS} FROM {TABLE} WHERE owner_id = %s"
_ORDER = " ORDER BY queued_at DESC, id DESC LIMIT %s"


class SqlJobStore(ABC):
    @abstractmethod
    def _run(self, sql: str, params: tuple[Any, ...] = ()) -> tuple[list[Any], int]:
        """Rows (if any) and the row count of one statement, committed."""

    def insert(self, job: Job) -> None:
        self._run(_INSERT, to_row(job))

    def get(self, job_id: UUID) -> Job | None:
        rows, _ = self._run(f"SELECT {COLUMNS} FROM {TABLE} WHERE id = %s", (str(job_id),))
        return from_row(rows[0]) if rows else None

    def page(self, owner_id: UUID, after: tuple[float, str] | None, limit: int) -> list[Job]:
        if after is None:
            rows, _ = self._run(_PAGE + _ORDER, (str(owner_id), limit))
        else:
            where = " AND (queued_at < %s OR (queued_at = %s AND id < %s))"
            rows, _ = self._run(_PAGE + where + _ORDER, (str(owner_id), *after[:1], *after, limit))
        return [from_row(row) for row in rows]

    def claim(self, job_id: UUID, token: str, now: float, stale_before: float) -> Job | None:
        params = (RUNNING, token, now, str(job_id), QUEUED, RUNNING, stale_before)
        rows, _ = self._run(_CLAIM, params)
        return from_row(rows[0]) if rows else None

    def finish(self, job_id: UUID, token: str, outcome: Outcome, now: float, ttl_s: float) -> bool:
        result = None if outcome.result is None else json.dumps(outcome.result)
        error = None if outcome.error is None else json.dumps(outcome.error)
        params = (outcome.status, result, error, now, now + ttl_s, str(job_id), RUNNING, token)
        _, count = self._run(_FINISH, params)
        return count == 1

    def cancel(self, job_id: UUID, now: float, ttl_s: float) -> Job | None:
        params = (CANCELED, now, now + ttl_s, str(job_id), QUEUED, RUNNING)
        rows, _ = self._run(_CANCEL, params)
        return from_row(rows[0]) if rows else None

    def unfinished(self) -> list[UUID]:
        sql = f"SELECT id FROM {TABLE} WHERE status IN (%s, %s) ORDER BY queued_at"
        rows, _ = self._run(sql, (QUEUED, RUNNING))
        return [UUID(row[0]) for row in rows]

    def abandoned(self, before: float) -> list[UUID]:
        sql = (
            f"SELECT id FROM {TABLE} WHERE status IN (%s, %s) "
            "AND COALESCE(started_at, queued_at) < %s ORDER BY queued_at"
        )
        rows, _ = self._run(sql, (QUEUED, RUNNING, before))
        return [UUID(row[0]) for row in rows]

    def release_running(self) -> int:
        """running → queued: for the embedded runner at start, the one process that ran them."""
        _, count = self._run(f"UPDATE {TABLE} SET status = %s WHERE status = %s", (QUEUED, RUNNING))
        return count

    def purge(self, now: float) -> int:
        _, count = self._run(f"DELETE FROM {TABLE} WHERE expires_at <= %s", (now,))
        return count


class SqliteJobStore(SqlJobStore):
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        self._db.execute("PRAGMA journal_mode=WAL")
        for statement in table_sql(TABLE, "REAL"):
            self._db.execute(statement)

    def _run(self, sql: str, params: tuple[Any, ...] = ()) -> tuple[list[Any], int]:
        with self._lock:
            cursor = self._db.execute(sql.replace("%s", "?"), params)
            rows = cursor.fetchall()
            return rows, cursor.rowcount

    def close(self) -> None:
        self._db.close()


class PostgresJobStore(SqlJobStore):
    def __init__(self, pool: ConnectionPool) -> None:
        """Make the table; call under infra.schema_lock, like every table we create."""
        self._pool = pool
        with pool.connection() as conn:
            for statement in table_sql(TABLE, "DOUBLE PRECISION"):
                conn.execute(statement)

    def _run(self, sql: str, params: tuple[Any, ...] = ()) -> tuple[list[Any], int]:
        with self._pool.connection() as conn:
            cursor = conn.execute(sql, params)
            rows = cursor.fetchall() if cursor.description else []
            return rows, cursor.rowcount
