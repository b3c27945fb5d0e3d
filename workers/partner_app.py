"""The partner feed worker: internal events in, public PII-free events out.

A faust-streaming app (made by a function) with one agent per event topic at
concurrency=1. Produces are awaited before the offset moves on, so partners get
every public event at least once; its `id` is stable, so they dedupe by it.
"""

from __future__ import annotations

import json
from pathlib import Path

import faust

from workers.faust_app import worker_app
from workers.partner_feed import public_types, to_public
from workers.topics import AGGREGATES, EVENT_TOPIC_PREFIX


def make_partner_feed_app(
    bootstrap: str,
    key: bytes,
    app_id: str = "aimarket-partner-feed",
    topic_prefix: str = EVENT_TOPIC_PREFIX,
    partitions: int = 6,
    *,
    datadir: Path,
) -> faust.App:
    app = worker_app(app_id, bootstrap, datadir, topic_partitions=partitions, producer_acks=-1)
    public = {
        t.topic_name: app.topic(
            t.topic_name, key_type=bytes, value_type=bytes, value_serializer="raw"
        )
        for t in public_types()
    }
    for aggregate in AGGREGATES:
        source = app.topic(
            topic_prefix + aggregate, key_type=bytes, value_type=bytes, value_serializer="raw"
        )

        async def publish(stream: faust.StreamT[bytes]) -> None:
            async for value in stream:
                event = to_public(json.loads(value), key=key)
                if event is not None:
                    sent = await public[event.topic].send(
                        key=event.key.encode(), value=json.dumps(event.value).encode()
                    )
                    await sent  # the broker's ack, before this offset may be committed

        app.agent(source, name=f"partner-feed-{aggregate}", concurrency=1)(publish)
    return app
