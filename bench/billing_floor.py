"""The floor under `aimarket worker metering`: the same faust agent (workers/usage_app.py:
batches of 500, each record decoded from its CloudEvent) handing its batches to an ingest
that only counts them, with no PostgreSQL. bench/billing.py runs it on the same topic in
the same run: whatever the ledger costs, metering cannot be faster than this.
"""

from __future__ import annotations

import multiprocessing
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from commands.metering_ports import UsageRecord


def _run(bootstrap: str, topic: str, out: str) -> None:
    """In a process of its own: the usage agent with a counting ingest; each batch writes
    `seen first_batch_at last_batch_at` to `out`."""
    import faust

    from workers.usage_app import make_usage_app

    state: dict[str, Any] = {"seen": 0, "first": 0.0, "first_batch": 0}

    def count(records: list[UsageRecord]) -> None:
        now = time.perf_counter()
        if not state["seen"]:
            state["first"], state["first_batch"] = now, len(records)
        state["seen"] += len(records)
        Path(out).write_text(f"{state['seen']} {state['first_batch']} {state['first']} {now}")

    app = make_usage_app(bootstrap, count, topic, f"floor-{uuid.uuid4().hex[:8]}",
                         datadir=Path(tempfile.mkdtemp()))  # fmt: skip
    faust.Worker(app, loglevel="warning").execute_from_commandline()


def faust_floor(bootstrap: str, topic: str, count: int) -> float:
    """Records/s of the counting agent, from its first batch to its last."""
    out = Path(tempfile.mkdtemp()) / "floor"
    context = multiprocessing.get_context("spawn")
    worker = context.Process(target=_run, args=(bootstrap, topic, str(out)), daemon=True)
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
