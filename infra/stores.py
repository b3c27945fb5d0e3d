"""The stores of a profile, for the composition root: the event store (SQLite, or
PostgreSQL with our ordered notification read), its connection pool, the read store and
search index, and the relay's ledger."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import unquote, urlsplit

from psycopg_pool import ConnectionPool

from commands.event_store import EventStore
from infra.readstore.sqlite import SqliteReadStore
from infra.relay_ledger import PostgresRelayLedger
from infra.resilience import BreakerRegistry
from infra.schema_lock import schema_lock
from infra.search.sqlite_fts import SqliteSearchIndex
from infra.settings import Settings
from projections.ports import ReadStore, SearchIndex

# The event store's recorder on the cluster: the library imports it only there.
NOTIFICATION_LOG = "infra.notification_log:OrderedPostgresRecorder"


def postgres_env(database_url: str) -> dict[str, str]:
    """eventsourcing's PostgreSQL settings from one URL."""
    url = urlsplit(database_url)
    if url.scheme not in {"postgresql", "postgres"} or not url.path.strip("/"):
        raise ValueError("AIMARKET_DATABASE_URL must look like postgresql://user:pw@host:port/db")
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "APPLICATION_RECORDER_TOPIC": NOTIFICATION_LOG,  # reads the log in order, fast
        "POSTGRES_DBNAME": url.path.strip("/"),
        "POSTGRES_HOST": url.hostname or "127.0.0.1",
        "POSTGRES_PORT": str(url.port or 5432),
        "POSTGRES_USER": unquote(url.username or ""),
        "POSTGRES_PASSWORD": unquote(url.password or ""),
    }


def event_store_env(settings: Settings) -> dict[str, str]:
    if settings.profile == "cluster":
        assert settings.database_url is not None  # checked by Settings
        return postgres_env(settings.database_url)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": str(settings.data_dir / "events.sqlite"),
    }


def open_marketplace(settings: Settings, **env: str) -> EventStore:
    """The application on this profile's event store (`env` adds library settings),
    its tables made under the schema lock."""
    cluster_db = settings.database_url if settings.profile == "cluster" else None
    with schema_lock(cluster_db):
        return EventStore(env={**event_store_env(settings), **env})


def postgres_pool(settings: Settings, closers: list[Callable[[], object]]) -> ConnectionPool:
    assert settings.database_url is not None
    pool = ConnectionPool(
        settings.database_url, min_size=1, max_size=settings.postgres_pool_size, open=True,
        kwargs={"autocommit": True},
    )  # fmt: skip
    closers.append(pool.close)
    return pool


def read_stores(
    settings: Settings, breakers: BreakerRegistry | None = None
) -> tuple[ReadStore, SearchIndex]:
    if settings.profile == "cluster":
        from infra.cluster import cluster_read_stores  # the cluster extras, only when asked for

        return cluster_read_stores(settings, breakers)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return (
        SqliteReadStore(settings.data_dir / "readmodels.sqlite"),
        SqliteSearchIndex(settings.data_dir / "search.sqlite"),
    )


def relay_ledger(settings: Settings) -> PostgresRelayLedger | None:
    if settings.profile != "cluster":
        return None
    with schema_lock(settings.database_url):
        return PostgresRelayLedger(event_store_env(settings), postgres_pool(settings, []))
