"""The cluster's usage ledger: rows in PostgreSQL beside the event store, written by every
API process through the shared pool.

The claim picks unclaimed rows with FOR UPDATE SKIP LOCKED and stamps them with the
batch id in the same statement, so two roll-ups at once take disjoint rows and neither
waits for the other. Tables are made by the composition root under the schema lock.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg_pool import ConnectionPool

from commands.metering_ports import ClaimedBatch, UsageRecord
from infra.usage.common import DERIVED, FIELDS, record_of, values_of

RECORDS, BATCHES = "aimarket_usage_records", "aimarket_usage_batches"
SCHEMA = (
    f"CREATE TABLE IF NOT EXISTS {RECORDS} ("
    "seq BIGSERIAL PRIMARY KEY, request_id TEXT NOT NULL UNIQUE,"
    " consumer_id UUID NOT NULL, api_key_id UUID, model_id UUID NOT NULL,"
    " publisher_id UUID NOT NULL, version TEXT NOT NULL, units INTEGER NOT NULL,"
    " compute_ms DOUBLE PRECISION NOT NULL, status TEXT NOT NULL, cold_start BOOLEAN NOT NULL,"
    " cached BOOLEAN NOT NULL, cost_amount BIGINT NOT NULL, currency TEXT NOT NULL,"
    " at TIMESTAMPTZ NOT NULL, month TEXT NOT NULL, counted BOOLEAN NOT NULL, batch_id TEXT)",
    f"CREATE INDEX IF NOT EXISTS {RECORDS}_month ON {RECORDS} (consumer_id, model_id, month)",
    f"CREATE INDEX IF NOT EXISTS {RECORDS}_at ON {RECORDS} (consumer_id, at)",
    f"CREATE INDEX IF NOT EXISTS {RECORDS}_batch ON {RECORDS} (batch_id, seq)",
    # Small whatever the ledger's size: only the rows no roll-up has claimed yet.
    f"CREATE INDEX IF NOT EXISTS {RECORDS}_unclaimed ON {RECORDS} (seq) WHERE batch_id IS NULL",
    f"CREATE TABLE IF NOT EXISTS {BATCHES} (batch_id TEXT PRIMARY KEY,"
    " claimed_at TIMESTAMPTZ NOT NULL, finished_at TIMESTAMPTZ)",
)
COLUMNS = ", ".join(FIELDS)
INSERT = (
    f"INSERT INTO {RECORDS} ({COLUMNS}, {', '.join(DERIVED)}) "
    f"VALUES ({', '.join(['%s'] * (len(FIELDS) + len(DERIVED)))}) "
    "ON CONFLICT (request_id) DO NOTHING"
)
CLAIM = (
    f"WITH picked AS (SELECT seq FROM {RECORDS} WHERE batch_id IS NULL ORDER BY seq "
    "LIMIT %s FOR UPDATE SKIP LOCKED) "
    f"UPDATE {RECORDS} r SET batch_id = %s FROM picked WHERE r.seq = picked.seq "
    f"RETURNING r.seq, {', '.join('r.' + f for f in FIELDS)}"
)


def _record(row: Sequence[Any]) -> UsageRecord:
    return record_of(row, row[FIELDS.index("at")])


class PostgresUsageLedger:
    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool
        with pool.connection() as conn, conn.transaction():
            for statement in SCHEMA:
                conn.execute(statement)

    def append(self, records: Sequence[UsageRecord]) -> int:
        if not records:
            return 0
        with self._pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            cur.executemany(INSERT, [values_of(r) for r in records])
            return max(cur.rowcount, 0)  # the rows inserted, over every statement

    def calls_in_month(self, consumer_id: UUID, model_id: UUID, month: str) -> int:
        with self._pool.connection() as conn:
            row = conn.execute(
                f"SELECT count(*) FROM {RECORDS} "
                "WHERE consumer_id = %s AND model_id = %s AND month = %s AND counted",
                (consumer_id, model_id, month),
            ).fetchone()
        return int(row[0]) if row else 0

    def claim_batch(self, limit: int, at: datetime) -> ClaimedBatch | None:
        batch_id = str(uuid.uuid4())
        with self._pool.connection() as conn, conn.transaction():
            rows = conn.execute(CLAIM, (limit, batch_id)).fetchall()
            if not rows:
                return None
            conn.execute(f"INSERT INTO {BATCHES} VALUES (%s, %s, NULL)", (batch_id, at))
        return ClaimedBatch(batch_id, [_record(row[1:]) for row in sorted(rows)])

    def unfinished_batches(self, claimed_before: datetime) -> list[ClaimedBatch]:
        with self._pool.connection() as conn:
            ids = conn.execute(
                f"SELECT batch_id FROM {BATCHES} WHERE finished_at IS NULL "
                "AND claimed_at <= %s ORDER BY claimed_at",
                (claimed_before,),
            ).fetchall()
            found = []
            for (batch_id,) in ids:
                rows = conn.execute(
                    f"SELECT {COLUMNS} FROM {RECORDS} WHERE batch_id = %s ORDER BY seq",
                    (batch_id,),
                ).fetchall()
                found.append(ClaimedBatch(batch_id, [_record(row) for row in rows]))
        return found

    def finish_batch(self, batch_id: str, at: datetime) -> None:
        with self._pool.connection() as conn:
            conn.execute(
                f"UPDATE {BATCHES} SET finished_at = %s "
                "WHERE batch_id = %s AND finished_at IS NULL",
                (at, batch_id),
            )

    def records_for(self, consumer_id: UUID, since: datetime, limit: int) -> list[UsageRecord]:
        with self._pool.connection() as conn:
            rows = conn.execute(
                f"SELECT {COLUMNS} FROM {RECORDS} WHERE consumer_id = %s AND at >= %s "
                "ORDER BY at, seq LIMIT %s",
                (consumer_id, since, limit),
            ).fetchall()
        return [_record(row) for row in rows]
