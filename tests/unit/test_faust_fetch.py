"""Our faust workers fetch with a short wait (workers/faust_fetch.py): faust's fixed 1.5 s
let a fetch for idle partitions hold back the busy ones."""

from __future__ import annotations

import asyncio
from pathlib import Path

from workers.faust_app import worker_app
from workers.faust_fetch import FETCH_MAX_WAIT_MS


def test_a_worker_apps_kafka_consumer_waits_at_most_the_short_fetch_wait(tmp_path: Path) -> None:
    app = worker_app("probe-fetch-wait", "127.0.0.1:9", tmp_path)

    async def consumer_wait_ms() -> int:
        # Made as faust makes it when the worker starts; never started, so no broker needed.
        kafka_consumer = app.consumer._thread._create_worker_consumer(app.transport)
        return int(kafka_consumer._fetch_max_wait_ms)

    assert FETCH_MAX_WAIT_MS < 1500
    assert asyncio.run(consumer_wait_ms()) == FETCH_MAX_WAIT_MS
