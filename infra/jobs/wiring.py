"""Builds jobs and webhooks for a profile (called from infra/bootstrap.py): the stores on
SQLite under the data directory or on the PostgreSQL pool, the embedded queue and
dispatcher threads, or the Kafka producer of the cluster (imported only there)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from psycopg_pool import ConnectionPool

from commands.job_ports import JobInference, JobListener, JobQueue
from commands.jobs import JobLimits, JobService
from commands.webhooks import WebhookPolicy, WebhookService
from domain.clock import Clock
from infra.jobs.stores import PostgresJobStore, SqliteJobStore, SqlJobStore
from infra.resilience import BreakerRegistry, registry_for
from infra.schema_lock import schema_lock
from infra.settings import Settings
from infra.webhooks.sender import WebhookSender
from infra.webhooks.signing import FernetSecretBox, StandardWebhooksSigner
from infra.webhooks.ssrf import UrlGuard
from infra.webhooks.stores import PostgresWebhookStore, SqliteWebhookStore, SqlWebhookStore
from workers.jobs import EmbeddedJobQueue, JobRunner, RunnerPolicy
from workers.webhooks import RetryPolicy, WebhookDispatcher

Closers = list[Callable[[], object]]


@dataclass
class Webhooks:
    service: WebhookService
    dispatcher: WebhookDispatcher


def webhook_store(
    settings: Settings, pool: ConnectionPool | None, closers: Closers
) -> SqlWebhookStore:
    if pool is not None:
        with schema_lock(settings.database_url):
            return PostgresWebhookStore(pool)
    store = SqliteWebhookStore(settings.data_dir / "webhooks.sqlite")
    closers.append(store.close)
    return store


def build_webhooks(
    settings: Settings, pool: ConnectionPool | None, clock: Clock, closers: Closers,
    breakers: BreakerRegistry | None = None,
) -> Webhooks:  # fmt: skip
    guard = UrlGuard(settings.allowed_webhook_hosts())
    policy = WebhookPolicy(
        settings.webhook_max_endpoints,
        settings.webhook_rotation_grace_s,
        settings.webhook_retry_window_s,
    )
    store = webhook_store(settings, pool, closers)
    service = WebhookService(
        store, FernetSecretBox(settings.signing_secret()), guard, clock, policy
    )
    sender = WebhookSender(
        guard,
        settings.webhook_connect_timeout_s,
        settings.webhook_read_timeout_s,
        breakers or registry_for(settings),
    )
    closers.append(sender.close)
    retry = RetryPolicy(settings.webhook_retry_base_s, settings.webhook_retry_cap_s)
    dispatcher = WebhookDispatcher(
        service, StandardWebhooksSigner(), sender, clock, retry, settings.webhook_poll_s
    )
    service.wake.append(dispatcher.wake)
    return Webhooks(service, dispatcher)


def job_store(settings: Settings, pool: ConnectionPool | None, closers: Closers) -> SqlJobStore:
    if pool is not None:
        with schema_lock(settings.database_url):
            return PostgresJobStore(pool)
    store = SqliteJobStore(settings.data_dir / "jobs.sqlite")
    closers.append(store.close)
    return store


def job_runner(
    settings: Settings, store: SqlJobStore, inference: JobInference, listener: JobListener,
    clock: Clock, settle: Callable[[], object] | None = None,
) -> JobRunner:  # fmt: skip
    policy = RunnerPolicy(float(settings.job_ttl_s), settings.job_lease_s)
    return JobRunner(store, inference, listener, clock, policy, settle)


def build_jobs(
    settings: Settings,
    pool: ConnectionPool | None,
    inference: JobInference,
    listener: JobListener,
    clock: Clock,
    closers: Closers,
) -> tuple[JobService, EmbeddedJobQueue | None]:
    """The job service, and the embedded queue to start (None in the cluster, where
    `aimarket worker inference` consumes the Kafka topic the service produces to)."""
    store = job_store(settings, pool, closers)
    embedded: EmbeddedJobQueue | None = None
    if pool is None:
        store.release_running()  # this process is the only runner of these jobs
        runner = job_runner(settings, store, inference, listener, clock)
        embedded = EmbeddedJobQueue(runner, store.unfinished())
        queue: JobQueue = embedded
    else:
        from infra.cluster import job_producer  # the cluster extras, only when asked for

        queue = job_producer(settings, closers)
    limits = JobLimits(
        settings.job_max_input_bytes or settings.max_body_bytes, float(settings.job_ttl_s)
    )
    return JobService(store, queue, inference, listener, clock, limits), embedded
