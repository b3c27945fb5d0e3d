"""The cluster's usage stats: grouped reads of the usage ledger and the priced spend slots
in PostgreSQL, through the shared pool."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from psycopg_pool import ConnectionPool

from infra.analytics.sqlite import _call
from infra.billing_usage.postgres import SLOTS
from infra.usage.postgres import RECORDS
from queries.analytics_ports import SLOT_S, CallSlot, SpendSlot

SLOT_OF_AT = f"(floor(extract(epoch FROM at) / {SLOT_S}))::bigint"


class PostgresUsageStats:
    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool

    def calls(
        self, first_slot: int, end_slot: int, consumer_id: UUID | None = None,
        publisher_id: UUID | None = None,
    ) -> list[CallSlot]:  # fmt: skip
        where = "at >= to_timestamp(%s) AND at < to_timestamp(%s)"
        args: list[Any] = [first_slot * SLOT_S, end_slot * SLOT_S]
        for column, value in (("consumer_id", consumer_id), ("publisher_id", publisher_id)):
            if value is not None:
                where, args = f"{where} AND {column} = %s", [*args, value]
        with self._pool.connection() as conn:
            rows = conn.execute(
                f"SELECT model_id, consumer_id, {SLOT_OF_AT} AS slot, currency, count(*), "
                "count(*) FILTER (WHERE status <> 'succeeded'), sum(compute_ms) "
                f"FROM {RECORDS} WHERE {where} GROUP BY model_id, consumer_id, slot, currency",
                args,
            ).fetchall()
        return [_call(row) for row in rows]

    def spend(self, consumer_id: UUID, first_slot: int, end_slot: int) -> list[SpendSlot]:
        with self._pool.connection() as conn:
            rows = conn.execute(
                f"SELECT model_id, slot, currency, amount FROM {SLOTS} "
                "WHERE consumer_id = %s AND slot >= %s AND slot < %s",
                (consumer_id, first_slot, end_slot),
            ).fetchall()
        return [SpendSlot(UUID(str(m)), int(s), c, int(a)) for m, s, c, a in rows]
