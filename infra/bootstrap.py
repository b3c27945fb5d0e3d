"""The composition root: every entry point builds what it needs here, for one profile:
the API's container, the CLI's read side and status, the relay and each worker, and the
benchmarks. The cluster's own builders sit in infra/cluster.py, imported only inside the
functions below that reach them, so the embedded profile needs none of the cluster extras."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar, cast

from psycopg_pool import ConnectionPool

from commands.access import AccessService
from commands.accounts import AccountCommands, AccountLookup
from commands.api_keys import ApiKeyCommands, ApiKeyService
from commands.artifacts import SizeLimits
from commands.auth import AuthPolicy, AuthService
from commands.budgets import SpendingMeter
from commands.downloads import DownloadService, FreeModelsPolicy, UrlSigner
from commands.event_store import EventStore
from commands.inference import InferenceService
from commands.inference_ports import InferenceEngine
from commands.inference_types import PaidAccess
from commands.jobs import JobService
from commands.metering import BufferedUsageMeter
from commands.model_stats import ModelStats
from commands.models import ModelCommands
from commands.ports import Mailer, TokenDenylist
from commands.rate_limits import TokenBuckets
from commands.reviews import ReviewService
from commands.sessions import SessionCommands
from commands.tokens import TokenCodec
from commands.uploads import UploadLimits, UploadService
from commands.usage import UsageCommands
from commands.webhooks import WebhookService
from domain.clock import Clock
from infra.analytics.wiring import analytics_queries
from infra.billing_wiring import BillingSide, billing_side
from infra.blobs import FilesystemBlobStore
from infra.clock import SystemClock
from infra.denylist import PostgresDenylist, SqliteDenylist
from infra.inference.wiring import (
    deployer_worker,
    inference_engine,
    inference_service,
)
from infra.jobs.wiring import build_jobs, build_webhooks
from infra.mail import mailer_for
from infra.monitor import PipelineMonitor
from infra.notify_wiring import NotifySide, notify_side
from infra.passwords import Argon2Passwords, common_passwords
from infra.progress import KafkaProjectionProgress
from infra.ratelimit import token_buckets
from infra.readiness import readiness
from infra.relay_ledger import PostgresRelayLedger
from infra.resilience import BreakerRegistry, registry_for
from infra.sandbox import SandboxedValidator, SandboxLimits
from infra.schema_lock import schema_lock
from infra.settings import Settings
from infra.staging import FilesystemStaging
from infra.stores import event_store_env, open_marketplace, postgres_pool, read_stores, relay_ledger
from infra.usage.wiring import metering, usage_rollup
from projections.ports import ReadStore, SearchIndex
from queries.access import AccessQueries
from queries.accounts import AccountQueries
from queries.analytics import AnalyticsQueries
from queries.audit import AuditQueries
from queries.health import Readiness
from queries.models import ModelQueries
from queries.progress import ProjectionProgress, ReadYourWrites
from queries.recommendations import Recommendations, UsageCoOccurrence
from queries.reviews import ReviewQueries
from workers.deployer import DeployerWorker
from workers.embedded import EmbeddedRunner
from workers.jobs import EmbeddedJobQueue
from workers.metering_worker import RollupRunner
from workers.projector import Projector
from workers.stats_worker import StatsTrigger
from workers.webhooks import WebhookDispatcher

if TYPE_CHECKING:  # the cluster extras: only for the types, never imported here at run time
    import faust

    from workers.relay import Relay

T = TypeVar("T")
log = logging.getLogger("aimarket.bootstrap")


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
    app: EventStore
    auth: AuthService
    account_commands: AccountCommands
    key_commands: ApiKeyCommands
    api_keys: ApiKeyService
    model_commands: ModelCommands
    read: ReadSide
    account_queries: AccountQueries
    model_queries: ModelQueries
    audit: AuditQueries
    readiness: Readiness
    mailer: Mailer
    access: AccessService
    reviews: ReviewService
    usage: UsageCommands
    access_queries: AccessQueries
    review_queries: ReviewQueries
    model_stats: ModelStats
    recommendations: Recommendations
    uploads: UploadService
    downloads: DownloadService
    read_your_writes: ReadYourWrites
    inference: InferenceService
    inference_engine: InferenceEngine  # unguarded: tests and operators look into it
    jobs: JobService
    webhooks: WebhookService
    usage_meter: BufferedUsageMeter
    billing: BillingSide  # payments, purchases, subscriptions, usage, ledger, invoices
    analytics: AnalyticsQueries
    rate_limits: TokenBuckets  # the gateway's route classes, login and inference share them
    closers: list[Callable[[], object]] = field(default_factory=list)
    stats_trigger: StatsTrigger | None = None  # the embedded profile rolls stats up in process
    background: list[EmbeddedJobQueue | WebhookDispatcher] = field(default_factory=list)
    deployer_worker: DeployerWorker | None = None  # embedded: deploys in process
    usage_rollup: RollupRunner | None = None  # the cluster runs `aimarket worker metering`
    breakers: BreakerRegistry | None = None  # of this container's outbound calls
    notify: NotifySide | None = None  # the notifier, the in-app list and its read marks
    _by_kind: dict[type, object] = field(default_factory=dict, init=False, repr=False)

    def get(self, kind: type[T]) -> T:
        """The one `kind` this container holds: how the web layer gets any service."""
        found = self._by_kind.get(kind)
        if found is None:
            holders = (self, self.read, *self.billing.holders(), *filter(None, [self.notify]))
            values = [getattr(h, name) for h in holders for name in h.__dataclass_fields__]
            found = next((v for v in values if isinstance(v, kind)), None)
            if found is None:
                raise LookupError(f"the container holds no {kind.__name__}")
            self._by_kind[kind] = found
        return cast(T, found)

    def start_runner(self) -> None:
        if self.read.runner is not None:
            self.read.runner.start()
            self.closers.append(self.read.runner.stop)
        if self.stats_trigger is not None:
            self.stats_trigger.start()
            self.closers.append(self.stats_trigger.stop)
        if self.deployer_worker is not None:
            self.deployer_worker.start()
            self.closers.append(self.deployer_worker.stop)
        for worker in self.background:  # the embedded job queue and webhook dispatcher
            worker.start()
            self.closers.append(worker.stop)
        if self.usage_rollup is not None:
            self.usage_rollup.start()
            self.closers.append(self.usage_rollup.stop)
        for runner in self.billing.runners():  # embedded: the saga, pricing, period close
            runner.start()
            self.closers.append(runner.stop)
        if self.notify is not None and self.notify.runner is not None:
            self.notify.runner.start()
            self.closers.append(self.notify.runner.stop)

    def close(self) -> None:
        for close in reversed(self.closers):
            close()
        self.app.close()


def _denylist(
    settings: Settings, pool: ConnectionPool | None, closers: list[Callable[[], object]]
) -> TokenDenylist:
    if pool is not None:
        with schema_lock(settings.database_url):
            return PostgresDenylist(pool)
    denylist = SqliteDenylist(settings.data_dir / "denylist.sqlite")
    closers.append(denylist.close)
    return denylist


def _read_side(
    settings: Settings, app: EventStore, pool: ConnectionPool | None, breakers: BreakerRegistry
) -> ReadSide:
    store, search = read_stores(settings, breakers)
    _ensure_search_indexes(store, search)
    if pool is None:
        runner = EmbeddedRunner(app, Projector(store, search), store)
        return ReadSide(store, search, runner, runner, PipelineMonitor(app, store, None))
    with schema_lock(settings.database_url):
        ledger = PostgresRelayLedger(event_store_env(settings), pool)
    return ReadSide(
        store,
        search,
        KafkaProjectionProgress(ledger, store, settings.event_topic_prefix),
        None,
        PipelineMonitor(app, store, ledger, settings.event_topic_prefix),
    )


def _ensure_search_indexes(store: ReadStore, search: SearchIndex) -> None:
    """Make the (empty) indexes now, so a query before the first projected event finds
    nothing rather than no index; best effort, since the API may start before the engine
    (queries then answer 503 `search_index_missing` until a worker makes them)."""
    try:
        Projector(store, search).ensure_indexes()
    except Exception as error:  # an unreachable engine must not stop the API from starting
        log.warning("search indexes not ensured: %s", type(error).__name__)


def build_container(settings: Settings, clock: Clock | None = None) -> Container:
    clock = clock or SystemClock()
    app = open_marketplace(settings)
    closers: list[Callable[[], object]] = []
    pool = postgres_pool(settings, closers) if settings.profile == "cluster" else None
    breakers = registry_for(settings)
    read = _read_side(settings, app, pool, breakers)
    accounts = AccountLookup(app, settings.auth_cache_ttl_s)
    mailer = mailer_for(settings)
    buckets = token_buckets(settings, clock)  # one store: login, inference, the gateway
    account_commands = AccountCommands(app)
    key_commands = ApiKeyCommands(app)
    auth = AuthService(
        app=app,
        users=account_commands,
        sessions=SessionCommands(app),
        accounts=accounts,
        passwords=Argon2Passwords(settings.argon2_time_cost, settings.argon2_memory_kib),
        tokens=TokenCodec(
            settings.signing_secret(), settings.access_token_ttl_s, settings.verify_email_ttl_s
        ),
        denylist=_denylist(settings, pool, closers),
        mailer=mailer,
        limiter=buckets,
        clock=clock,
        policy=AuthPolicy(
            refresh_ttl_s=settings.refresh_token_ttl_s,
            login_attempts_per_minute=settings.login_attempts_per_minute,
            public_base_url=settings.public_base_url,
            login_attempts_per_client_per_minute=settings.login_attempts_per_client_per_minute,
            common_passwords=common_passwords(),
        ),
    )
    registry = ModelCommands(app, clock)  # gated access and reviews apply its visibility rules
    model_stats = ModelStats(app, read.store, clock)
    stats_trigger = None
    if read.runner is not None:  # the cluster runs `aimarket worker stats` instead
        stats_trigger = StatsTrigger(model_stats, read.store)
        read.runner.after_batch.append(stats_trigger)
    access = AccessService(app, registry, clock)
    bills = billing_side(settings, app, registry, read.store, pool, clock, closers, breakers)
    paid = bills.purchases.paid_access
    uploads, downloads = _artifacts(settings, app, registry, access, clock, closers, paid)
    meter = metering(settings, pool, closers)
    engine, deployer = inference_engine(settings, FilesystemBlobStore(settings.blob_root()))
    spending = SpendingMeter(meter, bills.usage.budgets.counter)
    inference = inference_service(
        settings, app, engine, spending, clock, paid, bills.usage.budgets, breakers, buckets
    )
    worker = None
    if read.runner is not None and deployer is not None:  # the cluster runs a worker instead
        worker = deployer_worker(app, read.store, deployer, "onnxruntime")
        read.runner.after_batch.append(worker.nudge)
    # The embedded profile runs the job queue and the webhook dispatcher in process; the
    # cluster runs `aimarket worker inference` and `aimarket worker webhooks`.
    webhooks = build_webhooks(settings, pool, clock, closers, breakers)
    ready = readiness(settings, app, read.store, read.search, bills.gateway, breakers)
    closers.append(ready.close)
    jobs, queue = build_jobs(settings, pool, inference, webhooks.service, clock, closers)
    background: list[EmbeddedJobQueue | WebhookDispatcher] = (
        [] if queue is None else [queue, webhooks.dispatcher]
    )
    return Container(
        settings=settings,
        app=app,
        auth=auth,
        account_commands=account_commands,
        key_commands=key_commands,
        api_keys=ApiKeyService(app, key_commands, accounts, clock, settings.auth_cache_ttl_s),
        model_commands=registry,
        read=read,
        account_queries=AccountQueries(read.store, read.search),
        model_queries=ModelQueries(read.store, read.search, clock.now),
        audit=AuditQueries(app),
        readiness=ready,
        mailer=mailer,
        access=access,
        reviews=ReviewService(app, registry, clock),
        usage=UsageCommands(app),
        access_queries=AccessQueries(read.store, registry, clock),
        review_queries=ReviewQueries(read.store, registry),
        model_stats=model_stats,
        recommendations=Recommendations(read.store, read.search, [UsageCoOccurrence(read.store)]),
        uploads=uploads,
        downloads=downloads,
        read_your_writes=ReadYourWrites(
            read.progress, lambda: app.recorder.max_notification_id() or 0
        ),
        inference=inference,
        inference_engine=engine,
        jobs=jobs,
        webhooks=webhooks.service,
        usage_meter=meter,
        billing=bills,
        rate_limits=buckets,
        closers=closers,
        stats_trigger=stats_trigger,
        background=background,
        deployer_worker=worker,
        usage_rollup=usage_rollup(settings, app, meter.ledger, clock) if pool is None else None,
        breakers=breakers,
        analytics=analytics_queries(settings, read.store, pool, closers),
        notify=notify_side(app, read.store, mailer, webhooks.service, clock, pool is None),
    )


def _artifacts(
    settings: Settings,
    app: EventStore,
    registry: ModelCommands,
    access: AccessService,
    clock: Clock,
    closers: list[Callable[[], object]],
    paid: PaidAccess,
) -> tuple[UploadService, DownloadService]:
    """Uploads and downloads of model artifacts, on disk in both profiles (a shared
    volume in the cluster; S3-compatible storage later)."""
    blobs = FilesystemBlobStore(settings.blob_root())
    limits = UploadLimits(
        max_bytes=settings.max_upload_bytes,
        part_bytes=settings.upload_part_bytes,
        min_part_bytes=settings.upload_min_part_bytes,
        ttl_s=settings.upload_ttl_s,
    )
    staging = FilesystemStaging(settings.staging_root())
    closers.append(staging.close)
    uploads = UploadService(
        app,
        registry,
        blobs,
        staging,
        SandboxedValidator(_sandbox_limits(settings)),
        limits,
        clock,
    )
    downloads = DownloadService(
        registry,
        blobs,
        UrlSigner(settings.signing_secret()),
        clock,
        settings.download_url_ttl_s,
        settings.public_base_url,
        access_check=FreeModelsPolicy(
            clock,
            access_granted=lambda user, model: access.is_granted(user, model, clock.now()),
            paid=lambda user, model: paid.has_paid_access(user, model.id),
        ),
    )
    return uploads, downloads


def _sandbox_limits(settings: Settings) -> SandboxLimits:
    sizes = SizeLimits(settings.validation_max_nodes, settings.validation_max_expanded_bytes)
    return SandboxLimits(
        memory_bytes=settings.validation_memory_bytes,
        memory_per_byte=settings.validation_memory_per_byte,
        cpu_s=settings.validation_cpu_s,
        timeout_s=settings.validation_timeout_s,
        sizes=sizes,
        concurrent=settings.validation_concurrency,
        queue_wait_s=settings.validation_queue_wait_s,
    )


# The operator CLI, on either profile: the event store, the read side, the pipeline.


def audit_queries(settings: Settings) -> AuditQueries:
    return AuditQueries(open_marketplace(settings))


def read_side_for_cli(
    settings: Settings,
) -> tuple[EventStore, ReadStore, SearchIndex, ProjectionProgress]:
    app = open_marketplace(settings)
    store, search = read_stores(settings)
    ledger = relay_ledger(settings)
    if ledger is None:
        progress: ProjectionProgress = EmbeddedRunner(app, Projector(store, search), store)
    else:
        progress = KafkaProjectionProgress(ledger, store, settings.event_topic_prefix)
    return app, store, search, progress


def pipeline_status(settings: Settings) -> dict[str, Any]:
    app = open_marketplace(settings)
    store, _ = read_stores(settings)
    monitor = PipelineMonitor(app, store, relay_ledger(settings), settings.event_topic_prefix)
    return {"profile": settings.profile, **monitor.status()}


# The cluster's processes: built in infra/cluster.py, imported only when asked for.


def build_relay(settings: Settings, bootstrap: str) -> Relay:
    from infra.cluster import build_relay as build

    return build(settings, bootstrap)


def build_worker_app(settings: Settings, bootstrap: str, kind: str) -> faust.App:
    from infra.cluster import build_worker_app as build

    return build(settings, bootstrap, kind)
