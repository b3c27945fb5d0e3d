"""The cluster's billing usage: PostgreSQL tables beside the usage ledger, written by the
metering worker. `ingest` stores a batch of records in the ledger (new request ids only)
and prices the new ones into these tables in ONE transaction: a redelivered record is no
new ledger row, so it is priced never again, and a crash half-way leaves neither."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from psycopg_pool import ConnectionPool

from commands.billing_ports import BilledDay, BilledMonth, Pricer
from commands.billing_pricing import PricedCall
from commands.metering_ports import UsageRecord
from infra.billing_usage.common import counted_after, day_rows, month_rows, scope_of, spend_rows
from infra.usage.common import values_of
from infra.usage.postgres import INSERT as INSERT_RECORD

DAYS, MONTHS, SPEND = "billing_usage_days", "billing_usage_months", "billing_usage_spend"
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


class PostgresBillingUsage:
    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool
        with pool.connection() as conn, conn.transaction():
            for statement in SCHEMA:
                conn.execute(statement)

    def ingest(self, records: Sequence[UsageRecord], price: Pricer) -> list[PricedCall]:
        """Ledger rows for the new request ids, priced, in one transaction."""
        with self._pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            new = []
            for record in records:
                cur.execute(INSERT_RECORD + " RETURNING request_id", values_of(record))
                if cur.fetchone() is not None:
                    new.append(record)
            if not new:
                return []
            keys = sorted({(r.consumer_id, r.model_id, r.month) for r in new})
            counted = {}
            for key in keys:  # locked in one order: two workers on one pair queue here
                cur.execute(
                    f"INSERT INTO {MONTHS} VALUES (%s, %s, %s, 0) ON CONFLICT DO NOTHING", key
                )
                cur.execute(
                    f"SELECT units FROM {MONTHS} WHERE consumer_id = %s AND model_id = %s "
                    "AND month = %s FOR UPDATE",
                    key,
                )
                row = cur.fetchone()
                counted[key] = int(row[0]) if row else 0
            priced = price(new, counted)
            cur.executemany(ADD_DAY, day_rows(priced))
            cur.executemany(SET_MONTH, month_rows(counted_after(priced, counted)))
            cur.executemany(ADD_SPEND, spend_rows(priced))
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
