"""How metering is put together: the buffered meter on the profile's ledger, and the
roll-up of ledger rows into the Usage aggregates (a thread when embedded, else
`aimarket worker metering`)."""

from __future__ import annotations

from collections.abc import Callable

from psycopg_pool import ConnectionPool

from commands.event_store import EventStore
from commands.metering import BufferedUsageMeter
from commands.metering_ports import UsageLedger
from commands.usage import UsageCommands
from commands.usage_rollup import UsageRollup
from domain.clock import Clock
from infra.clock import SystemClock
from infra.settings import Settings
from infra.stores import open_marketplace, postgres_pool
from infra.usage import open_usage_ledger
from workers.metering_worker import RollupRunner


def metering(
    settings: Settings, pool: ConnectionPool | None, closers: list[Callable[[], object]]
) -> BufferedUsageMeter:
    """The usage meter on the profile's ledger (cluster: through Kafka to the metering
    worker); closing it writes what still waits."""
    ledger = open_usage_ledger(settings, pool, closers)
    if pool is not None and settings.usage_sink == "kafka":  # the metering worker writes it
        from infra.cluster import usage_sink

        sink = usage_sink(settings, ledger)
        closers.append(sink.close)
        ledger = sink
    meter = BufferedUsageMeter(
        ledger,
        batch_size=settings.usage_flush_batch,
        flush_interval_s=settings.usage_flush_interval_ms / 1000,
        seed_ttl_s=settings.usage_count_ttl_s,
    )
    closers.append(meter.close)
    return meter


def usage_rollup(
    settings: Settings, app: EventStore, ledger: UsageLedger, clock: Clock
) -> RollupRunner:
    rollup = UsageRollup(ledger, UsageCommands(app), clock, settings.usage_rollup_batch)
    return RollupRunner(rollup, settings.usage_rollup_idle_s)


def build_metering_worker(settings: Settings) -> RollupRunner:
    """`aimarket worker metering`: the roll-up on the cluster's PostgreSQL ledger."""
    closers: list[Callable[[], object]] = []
    pool = postgres_pool(settings, closers)
    ledger = open_usage_ledger(settings, pool, closers)
    return usage_rollup(settings, open_marketplace(settings), ledger, SystemClock())
