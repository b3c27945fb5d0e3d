"""The embedded usage stats: grouped reads of the usage ledger's SQLite file, where the
ledger's rows (`usage_records`, times in microseconds) and the priced spend slots live."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from uuid import UUID

from infra.analytics.sql import Dialect, day_calls, model_calls
from infra.billing_usage.sqlite import SCHEMA as BILLING_SCHEMA
from infra.usage.sqlite import SCHEMA as LEDGER_SCHEMA
from queries.analytics_ports import DAY_S, DayCalls, DayRun, ModelCalls, SpendSlot, Who

SQLITE = Dialect(
    table="usage_records", mark="?", day_of_at=f"(at / 1000000 + ?) / {DAY_S}",
    bound="?", bound_scale=1_000_000, integer="INTEGER",
)  # fmt: skip


class SqliteUsageStats:
    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(LEDGER_SCHEMA + BILLING_SCHEMA)  # whichever opens first

    def days(self, runs: Sequence[DayRun], who: Who, by_model: bool = True) -> list[DayCalls]:
        return day_calls(self._all(*SQLITE.days(runs, who, by_model)), by_model)

    def models(self, lo: int, hi: int, who: Who, limit: int) -> list[ModelCalls]:
        return model_calls(self._all(*SQLITE.models(lo, hi, who, limit)))

    def consumers(self, lo: int, hi: int, who: Who) -> int:
        return int(self._all(*SQLITE.consumers(lo, hi, who))[0][0])

    def spend(self, consumer_id: UUID, first_slot: int, end_slot: int) -> list[SpendSlot]:
        rows = self._all(
            "SELECT model_id, slot, currency, amount FROM billing_usage_slots "
            "WHERE consumer_id = ? AND slot >= ? AND slot < ?",
            [str(consumer_id), first_slot, end_slot],
        )
        return [SpendSlot(UUID(m), int(s), c, int(a)) for m, s, c, a in rows]

    def _all(self, sql: str, args: list[Any]) -> list[Any]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def close(self) -> None:
        self._db.close()
