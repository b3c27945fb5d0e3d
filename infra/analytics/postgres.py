"""The cluster's usage stats: grouped reads of the usage ledger and the priced spend slots
in PostgreSQL, through the shared pool."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from psycopg_pool import ConnectionPool

from infra.analytics.sql import Dialect, day_calls, model_calls
from infra.billing_usage.postgres import SLOTS
from infra.usage.postgres import RECORDS
from queries.analytics_ports import DAY_S, DayCalls, DayRun, ModelCalls, SpendSlot, Who

POSTGRES = Dialect(
    table=RECORDS, mark="%s",
    day_of_at=f"CAST(floor((extract(epoch FROM at) + %s) / {DAY_S}) AS BIGINT)",
    bound="to_timestamp(%s)", bound_scale=1, integer="BIGINT",
)  # fmt: skip


class PostgresUsageStats:
    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool

    def days(self, runs: Sequence[DayRun], who: Who, by_model: bool = True) -> list[DayCalls]:
        return day_calls(self._all(*POSTGRES.days(runs, who, by_model)), by_model)

    def models(self, lo: int, hi: int, who: Who, limit: int) -> list[ModelCalls]:
        return model_calls(self._all(*POSTGRES.models(lo, hi, who, limit)))

    def consumers(self, lo: int, hi: int, who: Who) -> int:
        return int(self._all(*POSTGRES.consumers(lo, hi, who))[0][0])

    def spend(self, consumer_id: UUID, first_slot: int, end_slot: int) -> list[SpendSlot]:
        rows = self._all(
            f"SELECT model_id, slot, currency, amount FROM {SLOTS} "
            "WHERE consumer_id = %s AND slot >= %s AND slot < %s",
            [consumer_id, first_slot, end_slot],
        )
        return [SpendSlot(UUID(str(m)), int(s), c, int(a)) for m, s, c, a in rows]

    def _all(self, sql: str, args: list[Any]) -> list[Any]:
        with self._pool.connection() as conn:
            return conn.execute(sql, args).fetchall()
