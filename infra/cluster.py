"""What only the cluster profile builds: its read-side adapters, the relay and the faust
workers. Reached only through infra/bootstrap.py's functions, which import it lazily, so
the embedded profile (`make run`) needs none of the cluster extras; import-linter holds
that (pyproject.toml)."""

from __future__ import annotations

from collections.abc import Callable

import faust

from commands.metering_ports import UsageLedger
from infra.blobs import FilesystemBlobStore
from infra.inference.triton_deployer import TritonDeployer
from infra.inference.triton_engine import TritonEngine
from infra.inference.triton_repository import RepositoryOptions, TritonRepository
from infra.kafka.jobs import KafkaJobQueue
from infra.kafka.publisher import KafkaPublisher
from infra.kafka.topics import ensure_topics
from infra.kafka.usage import KafkaUsageSink
from infra.readstore.mongo import MongoReadStore
from infra.resilience import BreakerRegistry, registry_for
from infra.search.opensearch import OpenSearchIndex
from infra.settings import Settings
from infra.stores import open_marketplace, relay_ledger
from projections.ports import ReadStore, SearchIndex
from workers.doc_cache import DocumentCache
from workers.faust_app import make_projection_app
from workers.projector import Projector
from workers.relay import Relay
from workers.topics import event_topics
from workers.transcoding import TOPIC as FAST_TRANSCODER

JOB_RETENTION_MS = 7 * 24 * 3600 * 1000  # a job id outlives no job: as long as results


def cluster_read_stores(
    settings: Settings, breakers: BreakerRegistry | None = None
) -> tuple[ReadStore, SearchIndex]:
    assert settings.mongo_url is not None and settings.opensearch_url is not None
    return (
        MongoReadStore(settings.mongo_url, settings.mongo_database),
        OpenSearchIndex(
            settings.opensearch_url,
            settings.search_prefix,
            settings.opensearch_timeout_s,
            breakers or registry_for(settings),
        ),
    )


def triton_engine(settings: Settings) -> TritonEngine:
    return TritonEngine(settings.triton_grpc_url)


def triton_deployer(settings: Settings, blobs: FilesystemBlobStore) -> TritonDeployer:
    options = RepositoryOptions(
        backend=settings.triton_backend,
        max_batch_size=settings.triton_max_batch_size,
        max_queue_delay_us=settings.triton_max_queue_delay_us,
        dynamic_batching=settings.triton_dynamic_batching,
        instances=settings.triton_instances,
    )
    repository = TritonRepository(settings.require_triton_repository(), blobs, options)
    return TritonDeployer(
        repository,
        settings.triton_grpc_url,
        load_timeout_s=settings.triton_load_timeout_s,
        call_timeout_s=settings.inference_timeout_s,
    )


def _ensure_topics(settings: Settings, bootstrap: str) -> None:
    ensure_topics(
        bootstrap,
        event_topics(settings.event_topic_prefix),
        settings.event_partitions,
        settings.event_retention_ms,
    )


def build_relay(settings: Settings, bootstrap: str) -> Relay:
    _ensure_topics(settings, bootstrap)
    ledger = relay_ledger(settings)
    assert ledger is not None
    # Same mapper and transcodings, a faster JSON parser for decoding (workers/transcoding.py).
    app = open_marketplace(settings, TRANSCODER_TOPIC=FAST_TRANSCODER)
    return Relay(
        app,
        KafkaPublisher(bootstrap, topics=event_topics(settings.event_topic_prefix)),
        ledger,
        topic_prefix=settings.event_topic_prefix,
    )


def job_producer(settings: Settings, closers: list[Callable[[], object]]) -> KafkaJobQueue:
    bootstrap = settings.require_kafka()
    ensure_topics(bootstrap, [settings.job_topic], settings.event_partitions, JOB_RETENTION_MS)
    queue = KafkaJobQueue(bootstrap, settings.job_topic)
    closers.append(queue.close)
    return queue


def _inference_app(settings: Settings, bootstrap: str) -> faust.App:
    from infra.clock import SystemClock
    from infra.inference.wiring import standalone_inference
    from infra.jobs.wiring import build_webhooks, job_runner, job_store
    from infra.stores import postgres_pool
    from infra.usage.wiring import metering
    from workers.jobs_app import make_inference_app

    ensure_topics(bootstrap, [settings.job_topic], settings.event_partitions, JOB_RETENTION_MS)
    closers: list[Callable[[], object]] = []
    pool, clock = postgres_pool(settings, closers), SystemClock()
    webhooks = build_webhooks(settings, pool, clock, closers)
    usage = metering(settings, pool, closers)
    inference = standalone_inference(settings, clock, closers, usage)
    runner = job_runner(settings, job_store(settings, pool, closers), inference,
                        webhooks.service, clock, settle=usage.flush)  # fmt: skip
    return make_inference_app(
        bootstrap, runner, settings.job_topic, f"{settings.worker_group}-inference",
        datadir=settings.data_dir / "faust",
    )  # fmt: skip


def usage_sink(settings: Settings, ledger: UsageLedger) -> KafkaUsageSink:
    """Where a cluster API process's meter flushes: the usage topic (made if missing)."""
    bootstrap = settings.require_kafka()
    ensure_topics(bootstrap, [settings.usage_topic], settings.event_partitions,
                  settings.usage_topic_retention_ms)  # fmt: skip
    return KafkaUsageSink(bootstrap, settings.usage_topic, ledger)


def _metering_app(settings: Settings, bootstrap: str) -> faust.App:
    from commands.plan_allowances import SubscribedAllowances
    from infra.billing_usage.wiring import usage_ingest
    from infra.stores import postgres_pool
    from workers.usage_app import make_usage_app

    ensure_topics(bootstrap, [settings.usage_topic], settings.event_partitions,
                  settings.usage_topic_retention_ms)  # fmt: skip
    app = open_marketplace(settings)
    ingest = usage_ingest(settings, app, postgres_pool(settings, []), SubscribedAllowances(app))
    return make_usage_app(
        bootstrap, ingest, settings.usage_topic, f"{settings.worker_group}-metering",
        datadir=settings.data_dir / "faust",
    )  # fmt: skip


def _notifier_app(settings: Settings, bootstrap: str) -> faust.App:
    from infra.clock import SystemClock
    from infra.jobs.wiring import build_webhooks
    from infra.mail import mailer_for
    from infra.notify_wiring import notifier
    from infra.stores import postgres_pool
    from workers.notifier_app import make_notifier_app

    closers: list[Callable[[], object]] = []
    webhooks = build_webhooks(settings, postgres_pool(settings, closers), SystemClock(), closers)
    store, _ = cluster_read_stores(settings)
    built = notifier(open_marketplace(settings), store, mailer_for(settings), webhooks.service)
    return make_notifier_app(
        bootstrap, built, f"{settings.worker_group}-notifier", settings.event_topic_prefix,
        datadir=settings.data_dir / "faust",
    )  # fmt: skip


def build_worker_app(settings: Settings, bootstrap: str, kind: str) -> faust.App:
    _ensure_topics(settings, bootstrap)
    if kind == "inference":
        return _inference_app(settings, bootstrap)
    if kind == "projections":
        store, search = cluster_read_stores(settings)
        projector = Projector(store, search, cache=DocumentCache(store))
        projector.ensure_indexes()
        return make_projection_app(
            bootstrap,
            projector,
            store,
            settings.worker_group,
            settings.event_topic_prefix,
            datadir=settings.data_dir / "faust",
        )
    if kind == "partner-feed":
        from workers.partner_app import make_partner_feed_app

        return make_partner_feed_app(
            bootstrap,
            settings.partner_feed_secret(),
            topic_prefix=settings.event_topic_prefix,
            partitions=settings.event_partitions,
            datadir=settings.data_dir / "faust",
        )
    if kind == "metering":
        return _metering_app(settings, bootstrap)
    if kind == "purchases":
        from infra.payments.purchases_wiring import purchase_worker_app

        return purchase_worker_app(settings, bootstrap)
    if kind == "notifier":
        return _notifier_app(settings, bootstrap)
    raise KeyError(
        f"no worker {kind!r}: use projections, partner-feed, inference, metering, purchases "
        "or notifier"
    )
