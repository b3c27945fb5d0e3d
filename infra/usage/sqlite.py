"""The embedded usage ledger: one SQLite file (WAL), one connection behind one lock.

Times are kept as integer microseconds since the epoch (UTC), so they sort and compare
exactly; the claim is one BEGIN IMMEDIATE transaction, so two roll-ups queue for it.
"""

from __future__ import annotations

import sqlite3
import threading
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from commands.metering_ports import ClaimedBatch, UsageRecord
from infra.sqlite_tx import immediate_transaction
from infra.usage.common import DERIVED, FIELDS, record_of, values_of

SCHEMA = """
CREATE TABLE IF NOT EXISTS usage_records (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id TEXT NOT NULL UNIQUE,
    consumer_id TEXT NOT NULL, api_key_id TEXT, model_id TEXT NOT NULL,
    publisher_id TEXT NOT NULL, version TEXT NOT NULL, units INTEGER NOT NULL,
    compute_ms REAL NOT NULL, status TEXT NOT NULL, cold_start INTEGER NOT NULL,
    cached INTEGER NOT NULL, cost_amount INTEGER NOT NULL, currency TEXT NOT NULL,
    at INTEGER NOT NULL, month TEXT NOT NULL, counted INTEGER NOT NULL, batch_id TEXT
);
CREATE INDEX IF NOT EXISTS usage_records_month ON usage_records (consumer_id, model_id, month);
CREATE INDEX IF NOT EXISTS usage_records_at ON usage_records (consumer_id, at);
CREATE INDEX IF NOT EXISTS usage_records_batch ON usage_records (batch_id, seq);
CREATE TABLE IF NOT EXISTS usage_batches (
    batch_id TEXT PRIMARY KEY, claimed_at INTEGER NOT NULL, finished_at INTEGER
);
"""
COLUMNS = ", ".join(FIELDS)
INSERT = (
    f"INSERT INTO usage_records ({COLUMNS}, {', '.join(DERIVED)}) "
    f"VALUES ({', '.join('?' * (len(FIELDS) + len(DERIVED)))}) ON CONFLICT DO NOTHING"
)


def _micros(at: datetime) -> int:
    delta = at.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _datetime(micros: int) -> datetime:
    seconds, rest = divmod(micros, 1_000_000)
    return datetime.fromtimestamp(seconds, UTC).replace(microsecond=rest)


def _row(record: UsageRecord) -> list[Any]:
    values = values_of(record)
    at = FIELDS.index("at")
    values[at] = _micros(record.at)
    return [str(v) if isinstance(v, UUID) else v for v in values]


def _record(row: Sequence[Any]) -> UsageRecord:
    return record_of(row, _datetime(int(row[FIELDS.index("at")])))


class SqliteUsageLedger:
    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(SCHEMA)

    def append(self, records: Sequence[UsageRecord]) -> int:
        new = 0
        with immediate_transaction(self._db, self._lock) as db:
            for record in records:
                new += db.execute(INSERT, _row(record)).rowcount
        return new

    def calls_in_month(self, consumer_id: UUID, model_id: UUID, month: str) -> int:
        with self._lock:
            row = self._db.execute(
                "SELECT count(*) FROM usage_records "
                "WHERE consumer_id = ? AND model_id = ? AND month = ? AND counted",
                (str(consumer_id), str(model_id), month),
            ).fetchone()
        return int(row[0])

    def claim_batch(self, limit: int, at: datetime) -> ClaimedBatch | None:
        batch_id = str(uuid.uuid4())
        with immediate_transaction(self._db, self._lock) as db:
            rows = db.execute(
                "UPDATE usage_records SET batch_id = ? WHERE seq IN (SELECT seq FROM "
                "usage_records WHERE batch_id IS NULL ORDER BY seq LIMIT ?) "
                f"RETURNING seq, {COLUMNS}",
                (batch_id, limit),
            ).fetchall()
            if rows:
                db.execute("INSERT INTO usage_batches VALUES (?, ?, NULL)", (batch_id, _micros(at)))
        if not rows:
            return None
        return ClaimedBatch(batch_id, [_record(row[1:]) for row in sorted(rows)])

    def unfinished_batches(self, claimed_before: datetime) -> list[ClaimedBatch]:
        with self._lock:
            ids = self._db.execute(
                "SELECT batch_id FROM usage_batches WHERE finished_at IS NULL "
                "AND claimed_at <= ? ORDER BY claimed_at",
                (_micros(claimed_before),),
            ).fetchall()
            return [ClaimedBatch(b, self._rows_of(b)) for (b,) in ids]

    def _rows_of(self, batch_id: str) -> list[UsageRecord]:
        rows = self._db.execute(
            f"SELECT {COLUMNS} FROM usage_records WHERE batch_id = ? ORDER BY seq", (batch_id,)
        ).fetchall()
        return [_record(row) for row in rows]

    def finish_batch(self, batch_id: str, at: datetime) -> None:
        with immediate_transaction(self._db, self._lock) as db:
            db.execute(
                "UPDATE usage_batches SET finished_at = ? WHERE batch_id = ? "
                "AND finished_at IS NULL",
                (_micros(at), batch_id),
            )

    def records_for(self, consumer_id: UUID, since: datetime, limit: int) -> list[UsageRecord]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT {COLUMNS} FROM usage_records WHERE consumer_id = ? AND at >= ? "
                "ORDER BY at, seq LIMIT ?",
                (str(consumer_id), _micros(since), limit),
            ).fetchall()
        return [_record(row) for row in rows]

    def close(self) -> None:
        self._db.close()
