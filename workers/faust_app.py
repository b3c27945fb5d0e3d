"""The cluster profile's projection workers: a faust-streaming app, made by a function.

One agent per event topic, each at concurrency=1 (with more, faust can commit an
offset past a message still in flight: upstream issue 606). Scale with partitions
and worker processes. Offsets are committed after the agent has processed a batch,
so delivery is at-least-once; the version guard in every write makes it idempotent.
"""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import faust

from projections.ports import Position, ReadStore
from workers.faust_fetch import use_short_fetches
from workers.projector import Projector
from workers.relay import POSITION_HEADER
from workers.topics import EVENT_TOPIC_PREFIX, partition_tracker
from workers.tracing import consumed, header, in_context

BATCH = 500
BATCH_WITHIN_S = 0.05


def worker_app(app_id: str, bootstrap: str, datadir: Path, **settings: Any) -> faust.App:
    """A faust app as our workers run it: no web server, no table store, no leader topic,
    from the earliest offset for a new group, offsets committed every second, short fetch
    waits (workers/faust_fetch.py).

    faust makes `<app id>-data` even with the memory store: under `datadir` (the data dir),
    never a fixed shared path that only an earlier run would have made."""
    datadir.mkdir(parents=True, exist_ok=True)  # faust creates only the last level
    app = faust.App(
        app_id,
        broker=f"kafka://{bootstrap}",
        store="memory://",
        datadir=datadir / f"{app_id}-data",
        web_enabled=False,
        topic_disable_leader=True,
        consumer_auto_offset_reset="earliest",
        broker_commit_interval=timedelta(seconds=1),
        broker_session_timeout=timedelta(seconds=10),
        # A partition its group was not given (a topic made just before it joined) is
        # found at the next metadata refresh: seconds, not aiokafka's default 5 minutes.
        consumer_metadata_max_age_ms=5000,
        **settings,
    )
    use_short_fetches(app)
    return app


def make_projection_app(
    bootstrap: str,
    projector: Projector,
    store: ReadStore,
    app_id: str = "aimarket-projections",
    topic_prefix: str = EVENT_TOPIC_PREFIX,
    write_timeout_s: float = 30.0,
    *,
    datadir: Path,
) -> faust.App:
    app = worker_app(app_id, bootstrap, datadir)
    if projector.cache is not None:
        cache = projector.cache

        @app.on_partitions_revoked.connect
        async def forget_on_rebalance(*_: Any, **__: Any) -> None:
            # Another worker may write these documents now: read them back when ours again.
            cache.clear()

    for aggregate in sorted({model.aggregate for model in projector.models}):
        _project_topic(app, topic_prefix + aggregate, projector, store, write_timeout_s)
    return app


def _project_topic(
    app: faust.App, topic_name: str, projector: Projector, store: ReadStore, timeout_s: float
) -> None:
    topic = app.topic(topic_name, key_type=bytes, value_type=bytes, value_serializer="raw")

    def apply(envelopes: list[dict[str, Any]], marks: dict[int, int]) -> None:
        projector.project(envelopes, None, "kafka")
        trackers = [Position(partition_tracker(topic_name, p), at) for p, at in marks.items()]
        store.advance(trackers)

    async def project(stream: faust.StreamT[bytes]) -> None:
        loop = asyncio.get_running_loop()
        batches = cast(faust.Stream[bytes], stream).take_events(BATCH, within=BATCH_WITHIN_S)
        async for events in batches:
            envelopes: list[dict[str, Any]] = []
            marks: dict[int, int] = {}
            parents = [header(event.headers) for event in events]
            for event in events:
                envelopes.append(json.loads(event.value))
                position = int(event.headers.get(POSITION_HEADER, b"0"))
                partition = event.message.partition
                marks[partition] = max(marks.get(partition, 0), position)
            # The writes block: run them off the event loop, and never wait forever.
            with consumed(topic_name, parents, **{"messaging.batch.message_count": len(events)}):
                write = loop.run_in_executor(None, in_context(apply), envelopes, marks)
                await asyncio.wait_for(write, timeout_s)

    app.agent(topic, name=f"project-{topic_name}", concurrency=1)(project)
