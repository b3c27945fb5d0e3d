"""The floors under `aimarket worker metering`, on the same topic in the same run
(bench/billing.py): the same faust agent (workers/usage_app.py: batches of 500, each
record decoded from its CloudEvent) handing its batches to an ingest that only counts
them, with no PostgreSQL; and a bare faust agent that only counts the values it is given.
Whatever the ledger costs, metering on faust cannot be faster than these.
"""

from __future__ import annotations

import multiprocessing
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any


def _run(bootstrap: str, topic: str, out: str, target: int, bare: bool) -> None:
    """In a process of its own: the usage agent with a counting ingest (or, `bare`, a
    faust agent counting values); each batch writes `seen first_batch_at last_at`."""
    import faust

    from workers.faust_app import worker_app
    from workers.usage_app import make_usage_app

    state: dict[str, Any] = {"seen": 0, "first": 0.0, "first_batch": 0}

    def count(records: list[Any]) -> None:
        now = time.perf_counter()
        if not state["seen"]:
            state["first"], state["first_batch"] = now, len(records)
        state["seen"] += len(records)
        Path(out).write_text(f"{state['seen']} {state['first_batch']} {state['first']} {now}")

    app_id, datadir = f"floor-{uuid.uuid4().hex[:8]}", Path(tempfile.mkdtemp())
    if bare:
        app = worker_app(app_id, bootstrap, datadir)
        source = app.topic(topic, key_type=bytes, value_type=bytes, value_serializer="raw")

        async def counter(stream: faust.StreamT[bytes]) -> None:
            held: list[bytes] = []  # told in 500s, as the usage agent's batches are
            async for value in stream:
                held.append(value)
                if len(held) == 500 or state["seen"] + len(held) >= target:
                    count(held)
                    held = []

        app.agent(source, name="count", concurrency=1)(counter)
    else:
        app = make_usage_app(bootstrap, count, topic, app_id, datadir=datadir)
    faust.Worker(app, loglevel="warning").execute_from_commandline()


def faust_floor(bootstrap: str, topic: str, count: int, bare: bool = False) -> float:
    """Records/s of the counting agent, from its first batch to its last."""
    out = Path(tempfile.mkdtemp()) / "floor"
    context = multiprocessing.get_context("spawn")
    arguments = (bootstrap, topic, str(out), count, bare)
    worker = context.Process(target=_run, args=arguments, daemon=True)
    worker.start()
    deadline = time.monotonic() + 600
    try:
        while time.monotonic() < deadline and worker.is_alive():
            fields = out.read_text().split() if out.exists() else []
            if len(fields) == 4 and int(fields[0]) >= count:
                seen, first_batch, first, last = (
                    int(fields[0]),
                    int(fields[1]),
                    *map(float, fields[2:]),
                )
                return (seen - first_batch) / (last - first)
            time.sleep(0.05)
        raise SystemExit("the faust floor did not take every record")
    finally:
        worker.terminate()
        worker.join(10)
