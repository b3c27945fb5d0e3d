"""The composition root: build every adapter and handler for one profile, once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from psycopg_pool import ConnectionPool

from commands.accounts import AccountLookup
from commands.api_keys import ApiKeyService
from commands.application import Marketplace
from commands.auth import AuthPolicy, AuthService
from commands.models import ModelCommands
from commands.ports import Clock, Mailer, TokenDenylist
from commands.tokens import TokenCodec
from infra.clock import SystemClock
from infra.denylist import PostgresDenylist, SqliteDenylist
from infra.mail import OutboxMailer, SmtpMailer
from infra.monitor import PipelineMonitor
from infra.passwords import Argon2Passwords
from infra.progress import KafkaProjectionProgress
from infra.ratelimit import InProcessRateLimiter
from infra.readstore.mongo import MongoReadStore
from infra.readstore.sqlite import SqliteReadStore
from infra.relay_ledger import PostgresRelayLedger
from infra.search.opensearch import OpenSearchIndex
from infra.search.sqlite_fts import SqliteSearchIndex
from infra.settings import Settings
from projections.ports import ReadStore, SearchIndex
from queries.accounts import AccountQueries
from queries.audit import AuditQueries
from queries.health import Readiness
from queries.progress import ProjectionProgress
from workers.embedded import EmbeddedRunner
from workers.projector import Projector


@dataclass
class ReadSide:
    store: ReadStore
    search: SearchIndex
    progress: ProjectionProgress
    runner: EmbeddedRunner | None  # the embedded profile projects in process
    monitor: PipelineMonitor


@dataclass
class Container:
    settings: Settings
    app: Marketplace
    auth: AuthService
    api_keys: ApiKeyService
    model_commands: ModelCommands
    read: ReadSide
    account_queries: AccountQueries
    audit: AuditQueries
    readiness: Readiness
    mailer: Mailer
    closers: list[Callable[[], object]] = field(default_factory=list)

    def start_runner(self) -> None:
        if self.read.runner is not None:
            self.read.runner.start()
            self.closers.append(self.read.runner.stop)

    def close(self) -> None:
        for close in reversed(self.closers):
            close()
        self.app.close()


def postgres_env(database_url: str) -> dict[str, str]:
    """eventsourcing's PostgreSQL settings from one URL."""
    url = urlsplit(database_url)
    if url.scheme not in {"postgresql", "postgres"} or not url.path.strip("/"):
        raise ValueError("AIMARKET_DATABASE_URL must look like postgresql://user:pw@host:port/db")
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
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


def postgres_pool(settings: Settings, closers: list[Callable[[], object]]) -> ConnectionPool:
    assert settings.database_url is not None
    pool = ConnectionPool(
        settings.database_url, min_size=1, max_size=10, open=True, kwargs={"autocommit": True}
    )
    closers.append(pool.close)
    return pool


def _denylist(
    settings: Settings, pool: ConnectionPool | None, closers: list[Callable[[], object]]
) -> TokenDenylist:
    if pool is not None:
        return PostgresDenylist(pool)
    denylist = SqliteDenylist(settings.data_dir / "denylist.sqlite")
    closers.append(denylist.close)
    return denylist


def read_stores(settings: Settings) -> tuple[ReadStore, SearchIndex]:
    if settings.profile == "cluster":
        assert settings.mongo_url is not None and settings.opensearch_url is not None
        return (
            MongoReadStore(settings.mongo_url, settings.mongo_database),
            OpenSearchIndex(settings.opensearch_url, settings.search_prefix),
        )
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return (
        SqliteReadStore(settings.data_dir / "readmodels.sqlite"),
        SqliteSearchIndex(settings.data_dir / "search.sqlite"),
    )


def _read_side(settings: Settings, app: Marketplace, pool: ConnectionPool | None) -> ReadSide:
    store, search = read_stores(settings)
    if pool is None:
        runner = EmbeddedRunner(app, Projector(store, search), store)
        return ReadSide(store, search, runner, runner, PipelineMonitor(app, store, None))
    ledger = PostgresRelayLedger(event_store_env(settings), pool)
    return ReadSide(
        store,
        search,
        KafkaProjectionProgress(ledger, store, settings.event_topic_prefix),
        None,
        PipelineMonitor(app, store, ledger, settings.event_topic_prefix),
    )


def _mailer(settings: Settings) -> Mailer:
    if settings.smtp_host:
        return SmtpMailer(settings.smtp_host, settings.smtp_port, settings.smtp_sender)
    return OutboxMailer(settings.data_dir / "outbox", settings.smtp_sender)


def build_container(settings: Settings, clock: Clock | None = None) -> Container:
    clock = clock or SystemClock()
    app = Marketplace(env=event_store_env(settings))
    closers: list[Callable[[], object]] = []
    pool = postgres_pool(settings, closers) if settings.profile == "cluster" else None
    read = _read_side(settings, app, pool)
    accounts = AccountLookup(app, settings.auth_cache_ttl_s)
    mailer = _mailer(settings)
    auth = AuthService(
        app=app,
        accounts=accounts,
        passwords=Argon2Passwords(settings.argon2_time_cost, settings.argon2_memory_kib),
        tokens=TokenCodec(
            settings.signing_secret(), settings.access_token_ttl_s, settings.verify_email_ttl_s
        ),
        denylist=_denylist(settings, pool, closers),
        mailer=mailer,
        limiter=InProcessRateLimiter(),
        clock=clock,
        policy=AuthPolicy(
            refresh_ttl_s=settings.refresh_token_ttl_s,
            login_attempts_per_minute=settings.login_attempts_per_minute,
            public_base_url=settings.public_base_url,
        ),
    )
    return Container(
        settings=settings,
        app=app,
        auth=auth,
        api_keys=ApiKeyService(app, accounts, clock, settings.auth_cache_ttl_s),
        model_commands=ModelCommands(app, clock),
        read=read,
        account_queries=AccountQueries(read.store, read.search),
        audit=AuditQueries(app),
        readiness=Readiness(
            {
                "event_store": app.recorder.max_notification_id,
                "read_store": lambda: read.store.position("readiness"),
            }
        ),
        mailer=mailer,
        closers=closers,
    )
