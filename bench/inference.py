"""Benchmark: a call through our API beside the engine called directly, in one run.

    .venv/bin/python bench/inference.py [--requests N] [--part embedded|triton|all]

embedded: `POST /v1/models/{id}/infer` served by uvicorn in a process of its own (the
embedded profile, onnxruntime in process) over a real socket, beside onnxruntime called
directly with the same session options and the same input; a small model (4 floats in)
and one with a 1 MiB input (sent as base64), at concurrency 1 and 8. Goal: API p50 at
most direct + 0.5 ms.

triton: see bench/inference_triton.py (the cluster profile against the Triton that
`aimarket services` runs), which this script runs too when asked for `all`.

The client is a few lines of asyncio on keep-alive connections rather than httpx: on these
two cores the client shares the CPU with the server, and httpx's own cost per request
(about 0.2 ms here) would be counted against the API.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import functools
import json
import multiprocessing
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from bench.inference_bound import onnx_runner, start_bound
from bench.results import record
from infra.settings import Settings

EMBEDDED_GOAL_MS = 0.5


def affine_model(inputs: int, outputs: int) -> bytes:
    """y = x @ W + 1 over x (batch, inputs) float32, W random."""
    rng = np.random.default_rng(1)
    w = numpy_helper.from_array(rng.standard_normal((inputs, outputs)).astype(np.float32), "W")
    one = numpy_helper.from_array(np.ones((outputs,), np.float32), "one")
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", inputs])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", outputs])
    nodes = [helper.make_node("MatMul", ["x", "W"], ["xw"]),
             helper.make_node("Add", ["xw", "one"], ["y"])]  # fmt: skip
    graph = helper.make_graph(nodes, "affine", [x], [y], [w, one])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return bytes(model.SerializeToString())


@dataclass(frozen=True)
class Case:
    name: str
    model: bytes
    x: np.ndarray
    body: bytes  # the API call's JSON


def cases() -> list[Case]:
    small_x = np.random.default_rng(2).standard_normal((1, 4)).astype(np.float32)
    big_x = np.random.default_rng(3).standard_normal((1, 262_144)).astype(np.float32)
    raw = {"b64": base64.b64encode(big_x.tobytes()).decode(), "dtype": "float32",
           "shape": list(big_x.shape)}  # fmt: skip
    return [
        Case("small (4 floats in)", affine_model(4, 3), small_x,
             json.dumps({"inputs": {"x": small_x.tolist()}}).encode()),
        Case("1 MiB input (base64)", affine_model(262_144, 4), big_x,
             json.dumps({"inputs": {"x": raw}}).encode()),
    ]  # fmt: skip


# The server, in a process of its own


def serve(data_dir: str, models: list[bytes], ready: Any) -> None:
    """The embedded API in uvicorn; sets up a publisher, the models (uploaded, published,
    deployed through the API) and an API key, then puts (port, key, model ids) on `ready`."""
    import uvicorn

    from bench.cluster import BENCH_LIMITS
    from infra.bootstrap import build_container
    from infra.http.app import create_app
    from infra.http.lean_body import LeanBodyProtocol

    settings = Settings(profile="embedded", data_dir=Path(data_dir),
                        inference_calls_per_minute=10**9, **BENCH_LIMITS)  # fmt: skip
    container = build_container(settings)
    container.start_runner()
    app = create_app(container)
    key, model_ids = set_up(app, container, models)
    sock = listening_socket()
    ready.put((sock.getsockname()[1], key, model_ids))
    config = uvicorn.Config(app, http=LeanBodyProtocol, log_level="warning", access_log=False)
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        container.close()


def listening_socket() -> Any:
    """A socket on a free port of 127.0.0.1, listening: connections queue until uvicorn
    accepts them. IPPROTO_TCP named, so that asyncio sets TCP_NODELAY on accepted
    connections (else every response waits out the client's delayed ACK)."""
    import socket

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    return sock


def set_up(app: Any, container: Any, models: list[bytes]) -> tuple[str, list[str]]:
    import hashlib
    import uuid

    from fastapi.testclient import TestClient

    client = TestClient(app)
    email = f"bench-{uuid.uuid4().hex[:8]}@example.com"
    password = "a long bench password 1"
    registered = client.post(
        "/v1/auth/register", json={"email": email, "password": password, "role": "publisher"}
    )
    assert registered.is_success, registered.text
    _verify(client, container, email)
    token = client.post("/v1/auth/login", json={"email": email, "password": password}).json()
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    model_ids = []
    for n, content in enumerate(models):
        details = {"slug": f"bench-{n}", "name": f"Bench {n}", "visibility": "public"}
        made = client.post("/v1/models", json=details, headers=headers)
        model_id = made.json()["id"]
        part = 8 * 1024 * 1024
        started = client.post(f"/v1/models/{model_id}/uploads", json={
            "version": "1.0.0", "size": len(content), "part_size": part,
            "sha256": hashlib.sha256(content).hexdigest()}, headers=headers)  # fmt: skip
        upload = started.json()["upload_id"]
        for i, at in enumerate(range(0, len(content), part), start=1):
            client.put(f"/v1/uploads/{upload}/parts/{i}", content=content[at : at + part],
                       headers={**headers, "Content-Type": "application/octet-stream"})  # fmt: skip
        assert client.post(f"/v1/uploads/{upload}/complete", headers=headers).is_success
        published = client.post(f"/v1/models/{model_id}/versions/1.0.0/publish", headers=headers)
        assert published.is_success, published.text
        model_ids.append(model_id)
    key = client.post("/v1/auth/api-keys", json={"name": "bench", "scopes": ["inference"]},
                      headers=headers).json()["key"]  # fmt: skip
    return key, model_ids


def _verify(client: Any, container: Any, email: str) -> None:
    outbox = container.settings.data_dir / "outbox"
    for mail in sorted(outbox.glob("*.eml"), key=lambda p: p.stat().st_mtime, reverse=True):
        text = mail.read_text()
        if email in text:
            token = next(line for line in text.splitlines() if line.startswith("eyJ"))
            assert client.post("/v1/auth/verify-email", json={"token": token}).is_success
            return
    raise RuntimeError("no verification email")


# The client


class Connection:
    """One keep-alive HTTP/1.1 connection: a request out, the response's body back."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> Connection:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def post(self, head: bytes, body: bytes) -> tuple[int, bytes]:
        self.writer.write(head + body)
        status_line = await self.reader.readuntil(b"\r\n")
        length = 0
        while (line := await self.reader.readuntil(b"\r\n")) != b"\r\n":
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        return int(status_line[9:12]), await self.reader.readexactly(length)


def request_head(path: str, key: str, length: int) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: bench\r\nX-API-Key: {key}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
    ).encode()


async def wait_deployed(port: int, head: bytes, body: bytes) -> None:
    connection = await Connection.open(port)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        status, answer = await connection.post(head, body)
        if status == 200:
            return
        if status != 503:
            raise RuntimeError(f"{status}: {answer[:300]!r}")
        await asyncio.sleep(0.2)
    raise RuntimeError("the model was not deployed in time")


@dataclass(frozen=True)
class Figures:
    p50_ms: float
    p99_ms: float
    per_s: float


def figures(samples: list[float], wall_s: float) -> Figures:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return Figures(statistics.median(ordered) * 1000, p99 * 1000, len(samples) / wall_s)


async def drive(call: Callable[[], Awaitable[None]], requests: int, concurrency: int) -> Figures:
    for _ in range(50):
        await call()
    samples: list[float] = []

    async def worker(count: int) -> None:
        for _ in range(count):
            t0 = time.perf_counter()
            await call()
            samples.append(time.perf_counter() - t0)

    started = time.perf_counter()
    await asyncio.gather(*(worker(requests // concurrency) for _ in range(concurrency)))
    return figures(samples, time.perf_counter() - started)


async def api_figures(port: int, key: str, model_id: str, body: bytes, requests: int,
                      concurrency: int) -> Figures:  # fmt: skip
    head = request_head(f"/v1/models/{model_id}/infer", key, len(body))
    await wait_deployed(port, head, body)
    return await post_figures(port, head, body, requests, concurrency)


async def post_figures(port: int, head: bytes, body: bytes, requests: int,
                       concurrency: int) -> Figures:  # fmt: skip
    pool = [await Connection.open(port) for _ in range(concurrency)]
    free: asyncio.Queue[Connection] = asyncio.Queue()
    for connection in pool:
        free.put_nowait(connection)

    async def call() -> None:
        connection = await free.get()
        status, answer = await connection.post(head, body)
        free.put_nowait(connection)
        if status != 200:
            raise RuntimeError(f"{status}: {answer[:300]!r}")

    return await drive(call, requests, concurrency)


async def bound_figures(port: int, case: int, body: bytes, requests: int,
                        concurrency: int) -> Figures:  # fmt: skip
    """The bare route of bench/inference_bound.py on the same input."""
    head = request_head(f"/bound/{case}", "-", len(body))
    return await post_figures(port, head, body, requests, concurrency)


def direct_figures(case: Case, requests: int, concurrency: int) -> Figures:
    """onnxruntime called in this process as our engine calls it (one intra-op thread per
    session, the runs on worker threads at concurrency > 1)."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(case.model, options, providers=["CPUExecutionProvider"])
    feed = {"x": case.x}
    for _ in range(50):
        session.run(["y"], feed)
    samples: list[float] = []

    def run(count: int) -> None:
        for _ in range(count):
            t0 = time.perf_counter()
            session.run(["y"], feed)
            samples.append(time.perf_counter() - t0)

    started = time.perf_counter()
    if concurrency == 1:
        run(requests)
    else:
        with ThreadPoolExecutor(concurrency) as threads:
            list(threads.map(run, [requests // concurrency] * concurrency))
    return figures(samples, time.perf_counter() - started)


def report(case: str, concurrency: int, api: Figures, direct: Figures, bound: Figures) -> None:
    added, floor = api.p50_ms - direct.p50_ms, bound.p50_ms - direct.p50_ms
    goal = "met" if added <= EMBEDDED_GOAL_MS else "NOT met"
    judged = f" (goal +{EMBEDDED_GOAL_MS} ms: {goal})" if concurrency == 1 else ""
    print(f"{case:24} c={concurrency}: API p50 {api.p50_ms:6.3f} ms p99 {api.p99_ms:6.3f} ms "
          f"{api.per_s:7.0f}/s | bound p50 {bound.p50_ms:6.3f} ms {bound.per_s:7.0f}/s | "
          f"direct p50 {direct.p50_ms:6.3f} ms p99 {direct.p99_ms:6.3f} ms "
          f"{direct.per_s:7.0f}/s | API p50 +{added:.3f} ms (bound +{floor:.3f} ms), "
          f"throughput {api.per_s / direct.per_s:.2f}x direct, {api.per_s / bound.per_s:.2f}x "
          f"bound{judged}")  # fmt: skip
    if concurrency == 1:
        record(
            f"inference, embedded, {case}, c=1: API p50 added",
            added,
            "ms",
            direct.p50_ms,
            "onnxruntime direct, p50",
            None,
            f"<= +{EMBEDDED_GOAL_MS} ms",
            added <= EMBEDDED_GOAL_MS,
            f"bound +{floor:.3f} ms",
        )


def embedded(requests: int) -> None:
    print("embedded profile: API (uvicorn, own process, real socket) vs onnxruntime direct, "
          "and the bound (bench/inference_bound.py)")  # fmt: skip
    all_cases = cases()
    models = [c.model for c in all_cases]
    ready: Any = multiprocessing.get_context("spawn").Queue()
    server = multiprocessing.get_context("spawn").Process(
        target=serve, args=(tempfile.mkdtemp(), models, ready), daemon=True
    )
    server.start()
    bound, bound_port = start_bound(functools.partial(onnx_runner, models))
    try:
        port, key, model_ids = ready.get(timeout=300)
        for n, (case, model_id) in enumerate(zip(all_cases, model_ids, strict=True)):
            count = requests if case.x.nbytes < 1024 else max(200, requests // 10)
            for concurrency in (1, 8):
                api = asyncio.run(api_figures(port, key, model_id, case.body, count, concurrency))
                floor = asyncio.run(bound_figures(bound_port, n, case.body, count, concurrency))
                direct = direct_figures(case, count, concurrency)
                report(case.name, concurrency, api, direct, floor)
    finally:
        for process in (server, bound):
            process.terminate()
            process.join(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--part", choices=("embedded", "triton", "all"), default="all")
    args = parser.parse_args()
    if args.part in ("embedded", "all"):
        embedded(args.requests)
    if args.part in ("triton", "all"):
        from bench.inference_triton import main as triton_main

        triton_main(args.requests)


if __name__ == "__main__":
    main()
