"""Analytics put together: the profile's usage stats and the read store."""

from __future__ import annotations

from collections.abc import Callable

from psycopg_pool import ConnectionPool

from infra.analytics.postgres import PostgresUsageStats
from infra.analytics.sqlite import SqliteUsageStats
from infra.settings import Settings
from projections.ports import ReadStore
from queries.analytics import AnalyticsQueries


def analytics_queries(
    settings: Settings, store: ReadStore, pool: ConnectionPool | None,
    closers: list[Callable[[], object]],
) -> AnalyticsQueries:  # fmt: skip
    """Built after the usage ledger and billing store, which make the tables it reads."""
    if pool is not None:
        return AnalyticsQueries(PostgresUsageStats(pool), store)
    stats = SqliteUsageStats(settings.data_dir / "usage.sqlite")
    closers.append(stats.close)
    return AnalyticsQueries(stats, store)
