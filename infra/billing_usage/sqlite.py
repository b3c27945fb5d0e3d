"""The embedded billing usage: tables in the usage ledger's SQLite file, priced in process.

`price_pending` reads the ledger rows after its cursor (the ledger's seq, which SQLite's
single writer hands out in commit order, so none is skipped), prices them and moves the
cursor in ONE transaction: a row is priced once however often this runs or dies."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from uuid import UUID

from commands.billing_ports import BilledDay, BilledMonth, Pricer
from commands.billing_pricing import PricedCall
from infra.analytics.slots import spend_slot_rows
from infra.billing_usage.common import counted_after, day_rows, month_rows, scope_of, spend_rows
from infra.sqlite_tx import immediate_transaction
from infra.usage.sqlite import COLUMNS, _record
from infra.usage.sqlite import SCHEMA as LEDGER_SCHEMA

SCHEMA = """
CREATE TABLE IF NOT EXISTS billing_usage_days (
    consumer_id TEXT NOT NULL, model_id TEXT NOT NULL, day TEXT NOT NULL,
    currency TEXT NOT NULL, calls INTEGER NOT NULL, billable_units INTEGER NOT NULL,
    amount INTEGER NOT NULL, PRIMARY KEY (consumer_id, day, model_id, currency)
);
CREATE TABLE IF NOT EXISTS billing_usage_months (
    consumer_id TEXT NOT NULL, model_id TEXT NOT NULL, month TEXT NOT NULL,
    units INTEGER NOT NULL, PRIMARY KEY (consumer_id, model_id, month)
);
CREATE TABLE IF NOT EXISTS billing_usage_spend (
    consumer_id TEXT NOT NULL, scope TEXT NOT NULL, month TEXT NOT NULL,
    currency TEXT NOT NULL, amount INTEGER NOT NULL,
    PRIMARY KEY (consumer_id, scope, month, currency)
);
CREATE TABLE IF NOT EXISTS billing_usage_cursor (name TEXT PRIMARY KEY, seq INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS billing_usage_slots (
    consumer_id TEXT NOT NULL, model_id TEXT NOT NULL, slot INTEGER NOT NULL,
    currency TEXT NOT NULL, amount INTEGER NOT NULL,
    PRIMARY KEY (consumer_id, slot, model_id, currency)
);
"""
ADD_DAY = (
    "INSERT INTO billing_usage_days VALUES (?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT DO UPDATE SET calls = calls + excluded.calls, "
    "billable_units = billable_units + excluded.billable_units, amount = amount + excluded.amount"
)
SET_MONTH = "INSERT OR REPLACE INTO billing_usage_months VALUES (?, ?, ?, ?)"
ADD_SLOT = (  # analytics: spend per quarter hour, for days in any time zone
    "INSERT INTO billing_usage_slots VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT DO UPDATE SET amount = amount + excluded.amount"
)
ADD_SPEND = (
    "INSERT INTO billing_usage_spend VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT DO UPDATE SET amount = amount + excluded.amount"
)


class SqliteBillingUsage:
    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(LEDGER_SCHEMA + SCHEMA)  # whichever opens the file first

    def price_pending(self, price: Pricer, limit: int = 1000) -> list[PricedCall]:
        """Price up to `limit` ledger rows not priced yet; return them priced."""
        with immediate_transaction(self._db, self._lock) as db:
            cursor = db.execute("SELECT seq FROM billing_usage_cursor WHERE name = 'priced'")
            found = cursor.fetchone()
            rows = db.execute(
                f"SELECT seq, {COLUMNS} FROM usage_records WHERE seq > ? ORDER BY seq LIMIT ?",
                (found[0] if found else 0, limit),
            ).fetchall()
            if not rows:
                return []
            records = [_record(row[1:]) for row in rows]
            keys = sorted({(r.consumer_id, r.model_id, r.month) for r in records})
            counted = {key: self._units(db, key) for key in keys}
            priced = price(records, counted)
            db.executemany(ADD_DAY, day_rows(priced))
            db.executemany(SET_MONTH, month_rows(counted_after(priced, counted)))
            db.executemany(ADD_SPEND, spend_rows(priced))
            db.executemany(ADD_SLOT, spend_slot_rows(priced))
            db.execute(
                "INSERT OR REPLACE INTO billing_usage_cursor VALUES ('priced', ?)", (rows[-1][0],)
            )
        return priced

    @staticmethod
    def _units(db: sqlite3.Connection, key: tuple[UUID, UUID, str]) -> int:
        row = db.execute(
            "SELECT units FROM billing_usage_months WHERE consumer_id = ? AND model_id = ? "
            "AND month = ?",
            (str(key[0]), str(key[1]), key[2]),
        ).fetchone()
        return int(row[0]) if row else 0

    def days(self, consumer_id: UUID, first_day: str, last_day: str) -> list[BilledDay]:
        with self._lock:
            rows = self._db.execute(
                "SELECT model_id, day, currency, calls, billable_units, amount "
                "FROM billing_usage_days WHERE consumer_id = ? AND day >= ? AND day <= ? "
                "ORDER BY day, model_id",
                (str(consumer_id), first_day, last_day),
            ).fetchall()
        return [BilledDay(UUID(m), d, c, n, u, a) for m, d, c, n, u, a in rows]

    def spent(self, consumer_id: UUID, api_key_id: UUID | None, month: str, currency: str) -> int:
        with self._lock:
            row = self._db.execute(
                "SELECT amount FROM billing_usage_spend WHERE consumer_id = ? AND scope = ? "
                "AND month = ? AND currency = ?",
                (str(consumer_id), scope_of(api_key_id), month, currency),
            ).fetchone()
        return int(row[0]) if row else 0

    def month_totals(self, month: str) -> list[BilledMonth]:
        with self._lock:
            rows = self._db.execute(
                "SELECT consumer_id, model_id, currency, SUM(billable_units), SUM(amount) "
                "FROM billing_usage_days WHERE day >= ? AND day < ? "
                "GROUP BY consumer_id, model_id, currency ORDER BY consumer_id, model_id",
                (f"{month}-01", f"{month}-99"),
            ).fetchall()
        return [BilledMonth(UUID(c), UUID(m), cur, int(u), int(a)) for c, m, cur, u, a in rows]

    def close(self) -> None:
        self._db.close()
