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
from commands.ports import Clock, Mailer, TokenDenylist
from commands.tokens import TokenCodec
from infra.clock import SystemClock
from infra.denylist import PostgresDenylist, SqliteDenylist
from infra.mail import OutboxMailer, SmtpMailer
from infra.passwords import Argon2Passwords
from infra.ratelimit import InProcessRateLimiter
from infra.settings import Settings
from queries.accounts import AccountQueries
from queries.audit import AuditQueries
from queries.health import Readiness


@dataclass
class Container:
    settings: Settings
    app: Marketplace
    auth: AuthService
    api_keys: ApiKeyService
    account_queries: AccountQueries
    audit: AuditQueries
    readiness: Readiness
    mailer: Mailer
    closers: list[Callable[[], object]] = field(default_factory=list)

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


def _denylist(settings: Settings, closers: list[Callable[[], object]]) -> TokenDenylist:
    if settings.profile == "cluster":
        assert settings.database_url is not None
        pool = ConnectionPool(
            settings.database_url, min_size=1, max_size=10, open=True, kwargs={"autocommit": True}
        )
        closers.append(pool.close)
        return PostgresDenylist(pool)
    denylist = SqliteDenylist(settings.data_dir / "denylist.sqlite")
    closers.append(denylist.close)
    return denylist


def _mailer(settings: Settings) -> Mailer:
    if settings.smtp_host:
        return SmtpMailer(settings.smtp_host, settings.smtp_port, settings.smtp_sender)
    return OutboxMailer(settings.data_dir / "outbox", settings.smtp_sender)


def build_container(settings: Settings, clock: Clock | None = None) -> Container:
    clock = clock or SystemClock()
    app = Marketplace(env=event_store_env(settings))
    closers: list[Callable[[], object]] = []
    accounts = AccountLookup(app, settings.auth_cache_ttl_s)
    mailer = _mailer(settings)
    auth = AuthService(
        app=app,
        accounts=accounts,
        passwords=Argon2Passwords(settings.argon2_time_cost, settings.argon2_memory_kib),
        tokens=TokenCodec(
            settings.signing_secret(), settings.access_token_ttl_s, settings.verify_email_ttl_s
        ),
        denylist=_denylist(settings, closers),
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
        account_queries=AccountQueries(app),
        audit=AuditQueries(app),
        readiness=Readiness({"event_store": app.recorder.max_notification_id}),
        mailer=mailer,
        closers=closers,
    )
