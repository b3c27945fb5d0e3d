"""`make load`: the marketplace under a locust load of its real shape, on the cluster
profile, each part a process of its own.

    .venv/bin/python -m bench.load

A fresh cluster deployment (the API under uvicorn with 2 workers, the relay, the
projection, stats, purchase saga, metering, inference-job and deployer workers), seeded
through the API (publishers, a catalogue of published models, ONNX models deployed on
Triton, consumers with a card and a key); then one user alone for each route's unloaded
figures, then the load (bench/load/users.py) for a fixed time. Prints throughput and
p50/p95/p99 per endpoint, the error rate and the goal, and writes them into
docs/BENCHMARKS.md.

Environment: LOAD_USERS (100), LOAD_SECONDS (180), LOAD_UNLOADED_SECONDS (30), LOAD_MODELS
(300 in the catalogue), LOAD_CONSUMERS (40 accounts the users share), LOAD_JUDGE (1; 0: only
"no unexpected errors" is checked), LOAD_DOCS (docs/BENCHMARKS.md; empty: not written).
Exits 1 when a request failed other than by a deliberate 4xx.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import httpx

from bench.load import seed
from bench.load.deployment import (
    Processes,
    load_settings,
    start_cluster,
    start_deployer_from_head,
)
from bench.load.report import errors, load_average, section, write_docs

ROOT = Path(__file__).resolve().parents[2]


def setting(name: str, default: str) -> str:
    return os.environ.get(name, default)


def seeded(base_url: str, processes: Processes) -> seed.Seed:
    from tests.inference_support import affine_model

    content, data_dir = affine_model(), processes.settings.data_dir
    model_file = data_dir / "affine.onnx"
    model_file.write_bytes(content)
    made = seed.Seed(base_url, str(model_file))
    began = time.monotonic()
    seed.catalogue(made, data_dir, content, int(setting("LOAD_MODELS", "300")))
    start_deployer_from_head(processes)
    seed.deployed(made, content, processes.check)
    seed.consumers(made, data_dir, int(setting("LOAD_CONSUMERS", "40")))
    wait_listed(base_url, len(made.catalogue + made.free_deployed + made.paid_deployed))
    print(f"seeded in {time.monotonic() - began:.0f} s: {len(made.catalogue)} catalogue models "
          f"({len(made.paid)} sold outright), {len(made.free_deployed + made.paid_deployed)} "
          f"on Triton, {len(made.consumers)} consumers, {len(made.publishers)} publishers",
          flush=True)  # fmt: skip
    return made


def wait_listed(base_url: str, count: int) -> None:
    """The search index has every published model: the timed part reads a full catalogue."""
    deadline = time.monotonic() + 300
    while httpx.get(f"{base_url}/v1/models?limit=1", timeout=30).json()["total"] < count:
        if time.monotonic() > deadline:
            raise SystemExit(f"the catalogue did not reach {count} models in 5 minutes")
        time.sleep(0.5)


def swarm(made: seed.Seed, data_dir: Path, users: int, seconds: float) -> dict[str, object]:
    seed_file, out = data_dir / "seed.json", data_dir / "load.json"
    seed_file.write_text(json.dumps(made.as_json()))
    command = [sys.executable, "-m", "bench.load.swarm", str(seed_file), str(out),
               "--users", str(users), "--seconds", str(seconds),
               "--unloaded-seconds", setting("LOAD_UNLOADED_SECONDS", "30")]  # fmt: skip
    subprocess.run(command, cwd=ROOT, check=True)
    result: dict[str, object] = json.loads(out.read_text())
    return result


def main() -> None:
    users, seconds = int(setting("LOAD_USERS", "100")), float(setting("LOAD_SECONDS", "180"))
    judged, docs = setting("LOAD_JUDGE", "1") != "0", setting("LOAD_DOCS", "docs/BENCHMARKS.md")
    before, settings = load_average(), load_settings()
    with ExitStack() as stack:
        base_url, processes = start_cluster(settings, stack)
        made = seeded(base_url, processes)
        result = swarm(made, settings.data_dir, users, seconds)
        processes.check()  # every part still running at the end
    result["load_before"] = before  # other work on the machine shows in the figures
    setup = (f"Cluster profile, each part a process: the API (uvicorn, 2 workers), the relay, "
             f"the projection, stats, purchase saga, metering, inference-job and deployer "
             f"workers; locust in one process on the same cores. Seed: "
             f"{len(made.catalogue)} published models, "
             f"{len(made.free_deployed + made.paid_deployed)} deployed on Triton, "
             f"{len(made.consumers)} consumers with a card, "
             f"{len(made.publishers)} publishers.")  # fmt: skip
    text = section(result, setup, judged)
    print(text, flush=True)
    if docs:
        write_docs(ROOT / docs, text)
    if errors(result):
        sys.exit(1)


if __name__ == "__main__":
    main()
