"""A minimal faust-streaming app, made by a function so a test runs it on its own loop."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import faust


def make_collecting_app(
    bootstrap: str,
    app_id: str,
    topic_name: str,
    received: list[bytes],
    done: asyncio.Event,
    want: int,
    datadir: Path,
) -> faust.App:
    app = faust.App(
        app_id,
        broker=f"kafka://{bootstrap}",
        store="memory://",
        datadir=datadir / f"{app_id}-data",  # faust makes only this last level
        web_enabled=False,
        topic_partitions=1,
        topic_replication_factor=1,
        consumer_auto_offset_reset="earliest",
        broker_commit_every=1,
        broker_session_timeout=timedelta(seconds=10),
    )
    topic = app.topic(topic_name, key_type=bytes, value_type=bytes, value_serializer="raw")

    # concurrency=1: with more, faust can commit past an in-flight message.
    @app.agent(topic, concurrency=1)
    async def collect(stream: faust.StreamT[bytes]) -> None:
        async for value in stream:
            received.append(value)
            if len(received) >= want:
                done.set()

    return app


async def consume_with_faust_agent(
    bootstrap: str, app_id: str, topic_name: str, want: int, timeout_s: float, datadir: Path
) -> list[bytes]:
    """Start the app as a worker would (without the Worker's signal handling), collect, stop."""
    received: list[bytes] = []
    done = asyncio.Event()
    app = make_collecting_app(bootstrap, app_id, topic_name, received, done, want, datadir)
    await app.start()
    try:
        await asyncio.wait_for(done.wait(), timeout_s)
    finally:
        await app.stop()
    return received
