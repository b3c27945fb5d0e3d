"""`aimarket worker metering`'s agent: usage records (CloudEvents) from `aimarket.usage`
into the PostgreSQL ledger and the billing usage, one transaction per batch.

At-least-once from Kafka; the ledger's unique request id makes the write idempotent, so a
redelivered record changes nothing. Per-period sums are kept in PostgreSQL in the same
transaction as that dedupe rather than in a faust table: a table's changelog and the
ledger cannot commit together, so a crash between them would count a record twice or
never. concurrency=1 (upstream issue 606). A malformed record is logged and skipped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import cast

import faust

from commands.metering_ports import UsageRecord
from commands.usage_events import MalformedUsageEvent, decode
from workers.faust_app import worker_app

log = logging.getLogger("aimarket.metering")
BATCH, BATCH_WITHIN_S = 500, 0.2


def decoded(values: Sequence[bytes]) -> list[UsageRecord]:
    """The records among `values`; what is not one is logged and left out."""
    records = []
    for value in values:
        try:
            records.append(decode(value))
        except MalformedUsageEvent as error:
            log.warning("usage record skipped: %s", error)
    return records


def make_usage_app(
    bootstrap: str,
    ingest: Callable[[list[UsageRecord]], object],
    topic_name: str,
    app_id: str,
    *,
    datadir: Path,
    timeout_s: float = 60.0,
) -> faust.App:
    app = worker_app(app_id, bootstrap, datadir)
    topic = app.topic(topic_name, key_type=bytes, value_type=bytes, value_serializer="raw")

    async def meter(stream: faust.StreamT[bytes]) -> None:
        loop = asyncio.get_running_loop()
        batches = cast(faust.Stream[bytes], stream).take(BATCH, within=BATCH_WITHIN_S)
        async for values in batches:
            records = decoded(values)
            backoff = 0.1
            while records:  # blocking writes: off the loop, never waiting forever
                try:
                    await asyncio.wait_for(loop.run_in_executor(None, ingest, records), timeout_s)
                    break
                except Exception:  # the database is away: the same batch again, later
                    log.exception("usage batch not written; retrying in %.1fs", backoff)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 30.0)

    app.agent(topic, name="meter-usage", concurrency=1)(meter)
    return app
