"""The embedded usage stats: grouped reads of the usage ledger's SQLite file, where the
ledger's rows (`usage_records`, times in microseconds) and the priced spend slots live."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any
from uuid import UUID

from infra.billing_usage.sqlite import SCHEMA as BILLING_SCHEMA
from infra.usage.sqlite import SCHEMA as LEDGER_SCHEMA
from queries.analytics_ports import SLOT_S, CallSlot, SpendSlot

SLOT_US = SLOT_S * 1_000_000


class SqliteUsageStats:
    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(LEDGER_SCHEMA + BILLING_SCHEMA)  # whichever opens first

    def calls(
        self, first_slot: int, end_slot: int, consumer_id: UUID | None = None,
        publisher_id: UUID | None = None,
    ) -> list[CallSlot]:  # fmt: skip
        where = "at >= ? AND at < ?"
        args: list[Any] = [first_slot * SLOT_US, end_slot * SLOT_US]
        for column, value in (("consumer_id", consumer_id), ("publisher_id", publisher_id)):
            if value is not None:
                where, args = f"{where} AND {column} = ?", [*args, str(value)]
        with self._lock:
            rows = self._db.execute(
                f"SELECT model_id, consumer_id, at / {SLOT_US} AS slot, currency, count(*), "
                "sum(status != 'succeeded'), sum(compute_ms) FROM usage_records "
                f"WHERE {where} GROUP BY model_id, consumer_id, slot, currency",
                args,
            ).fetchall()
        return [_call(row) for row in rows]

    def spend(self, consumer_id: UUID, first_slot: int, end_slot: int) -> list[SpendSlot]:
        with self._lock:
            rows = self._db.execute(
                "SELECT model_id, slot, currency, amount FROM billing_usage_slots "
                "WHERE consumer_id = ? AND slot >= ? AND slot < ?",
                (str(consumer_id), first_slot, end_slot),
            ).fetchall()
        return [SpendSlot(UUID(m), int(s), c, int(a)) for m, s, c, a in rows]

    def close(self) -> None:
        self._db.close()


def _call(row: Any) -> CallSlot:
    model_id, consumer_id, slot, currency, calls, errors, compute_ms = row
    return CallSlot(
        UUID(str(model_id)), UUID(str(consumer_id)), int(slot), str(currency), int(calls),
        int(errors), float(compute_ms),
    )  # fmt: skip
