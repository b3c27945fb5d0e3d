"""What the operator CLI reads on either profile: the event store, the read side, the
pipeline's positions. The cluster's own processes are built in infra/cluster.py."""

from __future__ import annotations

from typing import Any

from commands.event_store import EventStore
from infra.bootstrap import event_store_env, open_marketplace, postgres_pool, read_stores
from infra.monitor import PipelineMonitor
from infra.progress import KafkaProjectionProgress
from infra.relay_ledger import PostgresRelayLedger
from infra.schema_lock import schema_lock
from infra.settings import Settings
from projections.ports import ReadStore, SearchIndex
from queries.audit import AuditQueries
from queries.progress import ProjectionProgress
from workers.embedded import EmbeddedRunner
from workers.projector import Projector


def marketplace(settings: Settings) -> EventStore:
    return open_marketplace(settings)


def event_store(settings: Settings) -> AuditQueries:
    return AuditQueries(marketplace(settings))


def ledger(settings: Settings) -> PostgresRelayLedger | None:
    if settings.profile != "cluster":
        return None
    with schema_lock(settings.database_url):
        return PostgresRelayLedger(event_store_env(settings), postgres_pool(settings, []))


def read_side_for_cli(
    settings: Settings,
) -> tuple[EventStore, ReadStore, SearchIndex, ProjectionProgress]:
    app = marketplace(settings)
    store, search = read_stores(settings)
    relay_ledger = ledger(settings)
    if relay_ledger is None:
        progress: ProjectionProgress = EmbeddedRunner(app, Projector(store, search), store)
    else:
        progress = KafkaProjectionProgress(relay_ledger, store, settings.event_topic_prefix)
    return app, store, search, progress


def pipeline_status(settings: Settings) -> dict[str, Any]:
    app = marketplace(settings)
    store, _ = read_stores(settings)
    monitor = PipelineMonitor(app, store, ledger(settings), settings.event_topic_prefix)
    return {"profile": settings.profile, **monitor.status()}
