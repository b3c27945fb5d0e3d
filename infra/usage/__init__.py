"""The usage ledger's adapters: SQLite (embedded) and PostgreSQL (cluster)."""

from __future__ import annotations

from collections.abc import Callable

from psycopg_pool import ConnectionPool

from commands.metering_ports import UsageLedger
from infra.schema_lock import schema_lock
from infra.settings import Settings
from infra.usage.postgres import PostgresUsageLedger
from infra.usage.sqlite import SqliteUsageLedger


def open_usage_ledger(
    settings: Settings, pool: ConnectionPool | None, closers: list[Callable[[], object]]
) -> UsageLedger:
    """The profile's ledger: PostgreSQL beside the event store (tables made under the
    schema lock), or a SQLite file in the data directory."""
    if pool is not None:
        with schema_lock(settings.database_url):
            return PostgresUsageLedger(pool)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    ledger = SqliteUsageLedger(settings.data_dir / "usage.sqlite")
    closers.append(ledger.close)
    return ledger
