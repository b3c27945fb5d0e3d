"""Builds the pipeline's processes from settings: relay, workers, and what the CLI reads."""

from __future__ import annotations

from typing import Any

import faust

from commands.application import Marketplace
from infra.bootstrap import event_store_env, open_marketplace, postgres_pool, read_stores
from infra.kafka.publisher import KafkaPublisher
from infra.kafka.topics import ensure_topics
from infra.monitor import PipelineMonitor
from infra.progress import KafkaProjectionProgress
from infra.relay_ledger import PostgresRelayLedger
from infra.schema_lock import schema_lock
from infra.settings import Settings
from projections.ports import ReadStore, SearchIndex
from queries.audit import AuditQueries
from queries.progress import ProjectionProgress
from workers.doc_cache import DocumentCache
from workers.embedded import EmbeddedRunner
from workers.faust_app import make_projection_app
from workers.projector import Projector
from workers.relay import Relay
from workers.topics import event_topics
from workers.transcoding import TOPIC as FAST_TRANSCODER


def marketplace(settings: Settings) -> Marketplace:
    return open_marketplace(settings)


def event_store(settings: Settings) -> AuditQueries:
    return AuditQueries(marketplace(settings))


def _ledger(settings: Settings) -> PostgresRelayLedger | None:
    if settings.profile != "cluster":
        return None
    with schema_lock(settings.database_url):
        return PostgresRelayLedger(event_store_env(settings), postgres_pool(settings, []))


def _ensure_topics(settings: Settings, bootstrap: str) -> None:
    ensure_topics(
        bootstrap,
        event_topics(settings.event_topic_prefix),
        settings.event_partitions,
        settings.event_retention_ms,
    )


def build_relay(settings: Settings, bootstrap: str) -> Relay:
    _ensure_topics(settings, bootstrap)
    ledger = _ledger(settings)
    assert ledger is not None
    # Same mapper and transcodings, a faster JSON parser for decoding (workers/transcoding.py).
    app = open_marketplace(settings, TRANSCODER_TOPIC=FAST_TRANSCODER)
    return Relay(
        app,
        KafkaPublisher(bootstrap, topics=event_topics(settings.event_topic_prefix)),
        ledger,
        topic_prefix=settings.event_topic_prefix,
    )


def build_worker_app(settings: Settings, bootstrap: str, kind: str) -> faust.App:
    _ensure_topics(settings, bootstrap)
    if kind == "projections":
        store, search = read_stores(settings)
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
    raise KeyError(f"no worker {kind!r}: use projections or partner-feed")


def read_side_for_cli(
    settings: Settings,
) -> tuple[Marketplace, ReadStore, SearchIndex, ProjectionProgress]:
    app = marketplace(settings)
    store, search = read_stores(settings)
    ledger = _ledger(settings)
    if ledger is None:
        progress: ProjectionProgress = EmbeddedRunner(app, Projector(store, search), store)
    else:
        progress = KafkaProjectionProgress(ledger, store, settings.event_topic_prefix)
    return app, store, search, progress


def pipeline_status(settings: Settings) -> dict[str, Any]:
    app = marketplace(settings)
    store, _ = read_stores(settings)
    monitor = PipelineMonitor(app, store, _ledger(settings), settings.event_topic_prefix)
    return {"profile": settings.profile, **monitor.status()}
