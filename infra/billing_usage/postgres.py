"""The cluster's billing usage: PostgreSQL tables beside the usage ledger, written by the
metering worker. `ingest` stores a batch of records in the ledger (new request ids only)
and prices the new ones into these tables in ONE transaction: a redelivered record is no
new ledger row, so it is priced never again, and a crash half-way leaves neither."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from psycopg_pool import ConnectionPool

from commands.billing_ports import BilledDay, BilledMonth, Pricer
from commands.billing_pricing import PricedCall
from commands.metering_ports import UsageRecord
from infra.analytics.slots import spend_slot_rows
from infra.billing_usage.common import counted_after, day_rows, month_rows, scope_of, spend_rows
from infra.usage.common import values_of
from infra.usage.postgres import INSERT as INSERT_RECORD

DAYS, MONTHS, SPEND = "billing_usage_days", "billing_usage_months", "billing_usage_spend"
SLOTS = "billing_usage_slots"  # analytics: spend per quarter hour, for days in any time zone
SCHEMA = (
    f"CREATE TABLE IF NOT EXISTS {DAYS} (consumer_id UUID NOT NULL, model_id UUID NOT NULL,"
    " day TEXT NOT NULL, currency TEXT NOT NULL, calls BIGINT NOT NULL,"
    " billable_units BIGINT NOT NULL, amount BIGINT NOT NULL,"
    " PRIMARY KEY (consumer_id, day, model_id, currency))",
    f"CREATE TABLE IF NOT EXISTS {MONTHS} (consumer_id UUID NOT NULL, model_id UUID NOT NULL,"
    " month TEXT NOT NULL, units BIGINT NOT NULL, PRIMARY KEY (consumer_id, model_id, month))",
    f"CREATE TABLE IF NOT EXISTS {SPEND} (consumer_id UUID NOT NULL, scope TEXT NOT NULL,"
    " month TEXT NOT NULL, currency TEXT NOT NULL, amount BIGINT NOT NULL,"
    " PRIMARY KEY (consumer_id, scope, month, currency))",
    f"CREATE TABLE IF NOT EXISTS {SLOTS} (consumer_id UUID NOT NULL, model_id UUID NOT NULL,"
    " slot BIGINT NOT NULL, currency TEXT NOT NULL, amount BIGINT NOT NULL,"
    " PRIMARY KEY (consumer_id, slot, model_id, currency))",
)
ADD_DAY = (
    f"INSERT INTO {DAYS} VALUES (%s, %s, %s, %s, %s, %s, %s) "
    "ON CONFLICT (consumer_id, day, model_id, currency) DO UPDATE SET "
    f"calls = {DAYS}.calls + excluded.calls, "
    f"billable_units = {DAYS}.billable_units + excluded.billable_units, "
    f"amount = {DAYS}.amount + excluded.amount"
)
SET_MONTH = (
    f"INSERT INTO {MONTHS} VALUES (%s, %s, %s, %s) "
    "ON CONFLICT (consumer_id, model_id, month) DO UPDATE SET units = excluded.units"
)
ADD_SPEND = (
    f"INSERT INTO {SPEND} VALUES (%s, %s, %s, %s, %s) "
    "ON CONFLICT (consumer_id, scope, month, currency) DO UPDATE SET "
    f"amount = {SPEND}.amount + excluded.amount"
)
ADD_SLOT = (
    f"INSERT INTO {SLOTS} VALUES (%s, %s, %s, %s, %s) "
    "ON CONFLICT (consumer_id, slot, model_id, currency) DO UPDATE SET "
    f"amount = {SLOTS}.amount + excluded.amount"
)


class PostgresBillingUsage:
    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool
        with pool.connection() as conn, conn.transaction():
            for statement in SCHEMA:
                conn.execute(statement)

    def ingest(self, records: Sequence[UsageRecord], price: Pricer) -> list[PricedCall]:
        """Ledger rows for the new request ids, priced, in one transaction: a few round
        trips per batch, whatever its size."""
        if not records:
            return []
        with self._pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            cur.execute(*_inserted(records))
            kept = {str(row[0]) for row in cur.fetchall()}
            new = list({r.request_id: r for r in records if r.request_id in kept}.values())
            if not new:
                return []
            keys = sorted({(r.consumer_id, r.model_id, r.month) for r in new})
            cur.execute(*_months_opened(keys))
            cur.execute(*_months_locked(keys))  # two workers on one pair queue here
            counted = {(UUID(str(c)), UUID(str(m)), mo): int(u) for c, m, mo, u in cur.fetchall()}
            priced = price(new, counted)
            cur.executemany(ADD_DAY, day_rows(priced))
            cur.executemany(SET_MONTH, month_rows(counted_after(priced, counted)))
            cur.executemany(ADD_SPEND, spend_rows(priced))
            cur.executemany(ADD_SLOT, spend_slot_rows(priced))
        return priced

    def days(self, consumer_id: UUID, first_day: str, last_day: str) -> list[BilledDay]:
        with self._pool.connection() as conn:
            rows = conn.execute(
                f"SELECT model_id, day, currency, calls, billable_units, amount FROM {DAYS} "
                "WHERE consumer_id = %s AND day >= %s AND day <= %s ORDER BY day, model_id",
                (consumer_id, first_day, last_day),
            ).fetchall()
        return [BilledDay(UUID(str(m)), d, c, n, u, a) for m, d, c, n, u, a in rows]

    def spent(self, consumer_id: UUID, api_key_id: UUID | None, month: str, currency: str) -> int:
        with self._pool.connection() as conn:
            row = conn.execute(
                f"SELECT amount FROM {SPEND} WHERE consumer_id = %s AND scope = %s "
                "AND month = %s AND currency = %s",
                (consumer_id, scope_of(api_key_id), month, currency),
            ).fetchone()
        return int(row[0]) if row else 0

    def month_totals(self, month: str) -> list[BilledMonth]:
        with self._pool.connection() as conn:
            rows = conn.execute(
                "SELECT consumer_id, model_id, currency, SUM(billable_units), SUM(amount) "
                f"FROM {DAYS} WHERE day >= %s AND day < %s "
                "GROUP BY consumer_id, model_id, currency ORDER BY consumer_id, model_id",
                (f"{month}-01", f"{month}-99"),
            ).fetchall()
        return [
            BilledMonth(UUID(str(c)), UUID(str(m)), cur, int(u), int(a)) for c, m, cur, u, a in rows
        ]


def _rows(count: int, width: int) -> str:
    row = "(" + ", ".join(["%s"] * width) + ")"
    return ", ".join([row] * count)


def _inserted(records: Sequence[UsageRecord]) -> tuple[str, list[Any]]:
    """One INSERT for the batch, answering the request ids that were new."""
    unique = {record.request_id: record for record in records}  # twice in a batch: once
    values = [values_of(record) for record in unique.values()]
    sql = INSERT_RECORD.replace(
        f"VALUES ({', '.join(['%s'] * len(values[0]))})",
        f"VALUES {_rows(len(values), len(values[0]))}",
    )
    return sql + " RETURNING request_id", [v for row in values for v in row]


def _months_opened(keys: list[tuple[UUID, UUID, str]]) -> tuple[str, list[Any]]:
    sql = f"INSERT INTO {MONTHS} VALUES {_rows(len(keys), 4)} ON CONFLICT DO NOTHING"
    return sql, [v for key in keys for v in (*key, 0)]


def _months_locked(keys: list[tuple[UUID, UUID, str]]) -> tuple[str, list[Any]]:
    sql = (
        f"SELECT consumer_id, model_id, month, units FROM {MONTHS} "
        f"WHERE (consumer_id, model_id, month) IN ({_rows(len(keys), 3)}) "
        "ORDER BY consumer_id, model_id, month FOR UPDATE"
    )
    return sql, [v for key in keys for v in key]
