"""Benchmark: a call through our API on the cluster profile beside the same Triton model
called directly with tritonclient (gRPC, asyncio), in one run; Triton's dynamic batching
on and off; the batch endpoint against single calls.

    .venv/bin/python bench/inference_triton.py [--requests N]

Starts the services it needs (`aimarket services`): PostgreSQL, FerretDB, OpenSearch,
Kafka and Triton (from the nvidia-pytriton wheel: the Python backend running the ONNX
file with onnxruntime). Our API runs in uvicorn in a process of its own, with the deployer
in a thread of that process; clients share the machine's two cores with both.

Goals (issue 13): API p50 at most 1.5x direct, throughput at least 0.7x direct at
concurrency 8; dynamic batching at least 1.5x items/s at concurrency 32 with at most
+0.5 ms p50 at concurrency 1; the batch endpoint (32 items a call) at least 10x the
items/s of single calls.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import multiprocessing
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from bench.cluster import fresh_cluster
from bench.inference import (
    Connection,
    Figures,
    api_figures,
    bound_figures,
    cases,
    drive,
    listening_socket,
    request_head,
    set_up,
)
from bench.inference_bound import start_bound, triton_runner
from bench.results import record
from commands.inference_ports import Deployment
from infra.settings import Settings

SERVICES = ["postgres", "ferretdb", "opensearch", "kafka", "redis", "triton"]
SMALL_SIGNATURE = {
    "inputs": [{"name": "x", "dtype": "float32", "shape": ["batch", 4]}],
    "outputs": [{"name": "y", "dtype": "float32", "shape": ["batch", 3]}],
}


def cluster_settings() -> Settings:
    settings, env = fresh_cluster(SERVICES, "benchi", inference_calls_per_minute=10**9)
    triton = {
        "triton_url": env["AIMARKET_TRITON_URL"],
        "triton_grpc_url": env["AIMARKET_TRITON_GRPC_URL"],
        "triton_model_repository": Path(env["AIMARKET_TRITON_MODEL_REPOSITORY"]),
    }
    return settings.model_copy(update=triton)


def serve(settings: Settings, models: list[bytes], ready: Any) -> None:
    """Our API on the cluster profile in uvicorn, with the deployer in a thread."""

    import uvicorn

    from infra.bootstrap import build_container
    from infra.http.app import create_app
    from infra.http.lean_body import LeanBodyProtocol
    from infra.inference.wiring import deployer_worker_for_cli

    container = build_container(settings)
    deployer = deployer_worker_for_cli(settings)
    deployer.start()
    app = create_app(container)
    key, model_ids = set_up(app, container, models)
    sock = listening_socket()
    ready.put((sock.getsockname()[1], key, model_ids))
    config = uvicorn.Config(app, http=LeanBodyProtocol, log_level="warning", access_log=False)
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        deployer.stop()
        container.close()


async def direct_figures(url: str, name: str, x: np.ndarray, requests: int,
                         concurrency: int) -> Figures:  # fmt: skip
    """tritonclient's asyncio gRPC client, one channel, as our engine calls Triton."""
    import tritonclient.grpc.aio as grpcaio
    from tritonclient.grpc import InferInput

    client = grpcaio.InferenceServerClient(url)

    async def call() -> None:
        tensor = InferInput("x", list(x.shape), "FP32")
        tensor.set_data_from_numpy(x)
        await client.infer(name, [tensor], client_timeout=30)

    try:
        return await drive(call, requests, concurrency)
    finally:
        await client.close()


def line(what: str, figures: Figures) -> str:
    return (f"{what}: p50 {figures.p50_ms:7.3f} ms p99 {figures.p99_ms:7.3f} ms "
            f"{figures.per_s:8.0f}/s")  # fmt: skip


def api_against_direct(settings: Settings, port: int, key: str, model_ids: list[str],
                       requests: int) -> None:  # fmt: skip
    names = [Deployment(uuid.UUID(m), "1.0.0", "", {}).engine_name for m in model_ids]
    redis_url = settings.redis_url or ""
    bound, bound_port = start_bound(
        functools.partial(triton_runner, settings.triton_grpc_url, names, redis_url)
    )
    try:
        for n, (case, model_id) in enumerate(zip(cases(), model_ids, strict=True)):
            count = requests if case.x.nbytes < 1024 else max(200, requests // 10)
            for concurrency in (1, 8):
                api = asyncio.run(api_figures(port, key, model_id, case.body, count, concurrency))
                floor = asyncio.run(bound_figures(bound_port, n, case.body, count, concurrency))
                direct = asyncio.run(direct_figures(settings.triton_grpc_url, names[n], case.x,
                                                    count, concurrency))  # fmt: skip
                report(case.name, concurrency, api, floor, direct)
    finally:
        bound.terminate()
        bound.join(10)


def report(case: str, concurrency: int, api: Figures, bound: Figures, direct: Figures) -> None:
    ratio, throughput = api.p50_ms / direct.p50_ms, api.per_s / direct.per_s
    goal = (ratio <= 1.5) if concurrency == 1 else (ratio <= 1.5 and throughput >= 0.7)
    print(f"{case:22} c={concurrency} | {line('API', api)} | {line('bound', bound)} | "
          f"{line('direct', direct)} | API p50 {ratio:.2f}x direct (bound "
          f"{bound.p50_ms / direct.p50_ms:.2f}x), throughput {throughput:.2f}x direct (bound "
          f"{bound.per_s / direct.per_s:.2f}x) (goal {'met' if goal else 'NOT met'})")  # fmt: skip
    wanted = "<= 1.5x p50" + (" and >= 0.7x /s" if concurrency > 1 else "")
    record(
        f"inference, Triton, {case}, c={concurrency}: API p50",
        api.p50_ms,
        "ms",
        direct.p50_ms,
        "tritonclient gRPC direct, p50",
        ratio,
        wanted,
        goal,
        f"{throughput:.2f}x /s; bound {bound.p50_ms / direct.p50_ms:.2f}x p50",
    )


def dynamic_batching(settings: Settings, model_id: str, requests: int) -> None:
    """The same ONNX file as two Triton models, dynamic batching on and off."""
    import tritonclient.grpc as grpcclient

    from infra.blobs import FilesystemBlobStore
    from infra.inference.triton_repository import RepositoryOptions, TritonRepository

    client = grpcclient.InferenceServerClient(settings.triton_grpc_url)
    digest = _digest_of(settings, model_id)
    names = {}
    for on in (True, False):
        options = RepositoryOptions(backend="python", max_batch_size=32,
                                    max_queue_delay_us=settings.triton_max_queue_delay_us,
                                    dynamic_batching=on, instances=1)  # fmt: skip
        blobs = FilesystemBlobStore(settings.blob_root())
        repository = TritonRepository(settings.require_triton_repository(), blobs, options)
        target = Deployment(uuid.UUID(model_id), f"9.9.{int(on)}", digest, SMALL_SIGNATURE)
        repository.write(target)
        client.load_model(target.engine_name)
        names[on] = target.engine_name
    x = np.random.default_rng(4).standard_normal((1, 4)).astype(np.float32)
    url = settings.triton_grpc_url
    figures = {
        (on, c): asyncio.run(direct_figures(url, names[on], x, requests, c))
        for on in (True, False) for c in (1, 32)
    }  # fmt: skip
    gain = figures[(True, 32)].per_s / figures[(False, 32)].per_s
    added = figures[(True, 1)].p50_ms - figures[(False, 1)].p50_ms
    print(f"dynamic batching (queue delay {settings.triton_max_queue_delay_us} us), direct gRPC:")
    for (on, c), got in figures.items():
        print(f"  {'on ' if on else 'off'} c={c:2}: {line('items', got)}")
    met = gain >= 1.5 and added <= 0.5
    print(
        f"  items/s at c=32 {gain:.2f}x, p50 at c=1 {added:+.3f} ms "
        f"(goal >= 1.5x and <= +0.5 ms: {'met' if met else 'NOT met'})"
    )
    record(
        "Triton dynamic batching, c=32",
        figures[(True, 32)].per_s,
        "items/s",
        figures[(False, 32)].per_s,
        "dynamic batching off",
        gain,
        ">= 1.5x and <= +0.5 ms p50 at c=1",
        met,
        f"p50 at c=1 {added:+.3f} ms",
    )
    for name in names.values():
        client.unload_model(name)


def _digest_of(settings: Settings, model_id: str) -> str:
    from commands.event_store import EventStore
    from domain.model import Model
    from infra.stores import open_marketplace

    app: EventStore = open_marketplace(settings)
    try:
        return str(app.load(Model, uuid.UUID(model_id)).version_info("1.0.0")["digest"])
    finally:
        app.close()


async def batch_against_single(port: int, key: str, model_id: str, calls: int) -> None:
    x = np.random.default_rng(6).standard_normal((1, 4)).astype(np.float32).tolist()
    single = json.dumps({"inputs": {"x": x}}).encode()
    batch = json.dumps({"items": [{"x": x}] * 32}).encode()
    connection = await Connection.open(port)
    rates = {}
    for path, body, items in ((f"/v1/models/{model_id}/infer", single, 1),
                              (f"/v1/models/{model_id}/infer/batch", batch, 32)):  # fmt: skip
        head = request_head(path, key, len(body))
        started = time.perf_counter()
        for _ in range(calls):
            status, answer = await connection.post(head, body)
            assert status == 200, answer[:300]
        rates[items] = calls * items / (time.perf_counter() - started)
    ratio = rates[32] / rates[1]
    print(
        f"batch endpoint, 32 items a call: {rates[32]:.0f} items/s against {rates[1]:.0f} "
        f"single calls/s: {ratio:.1f}x (goal >= 10x: {'met' if ratio >= 10 else 'NOT met'})"
    )
    record(
        "batch endpoint, 32 items a call",
        rates[32],
        "items/s",
        rates[1],
        "single calls",
        ratio,
        ">= 10x",
        ratio >= 10,
    )


def ready_or_died(ready: Any, server: Any) -> Any:
    import queue

    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        try:
            return ready.get(timeout=1)
        except queue.Empty:
            if not server.is_alive():
                raise SystemExit("the API process died while starting; see above") from None
    raise SystemExit("the API process did not start in 10 minutes")


def main(requests: int = 2000) -> None:
    print("cluster profile: API (uvicorn, own process) vs tritonclient gRPC direct, same Triton")
    settings = cluster_settings()
    context = multiprocessing.get_context("spawn")
    ready: Any = context.Queue()
    server = context.Process(target=serve, daemon=True, args=(
        settings, [c.model for c in cases()], ready))  # fmt: skip
    server.start()
    try:
        port, key, model_ids = ready_or_died(ready, server)
        api_against_direct(settings, port, key, model_ids, requests)
        dynamic_batching(settings, model_ids[0], requests)
        asyncio.run(batch_against_single(port, key, model_ids[0], max(100, requests // 10)))
    finally:
        server.terminate()
        server.join(10)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    main(parser.parse_args().requests)
