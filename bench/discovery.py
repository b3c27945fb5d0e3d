"""Benchmark: catalogue search through our API, beside the same query sent to OpenSearch
with opensearch-py directly, in the same run.

    .venv/bin/python bench/discovery.py [--models N] [--queries Q]

It brings up PostgreSQL, FerretDB and OpenSearch first if they are not running.

1. N generated models (default 10,000: names, model cards, tags, tasks, prices, usage
   and ratings) are folded by the `models` projection into MongoDB and the `models`
   OpenSearch index. The events come from real Model aggregates but skip the event store
   and Kafka: this measures search, not the pipeline (bench/pipeline.py does that).
2. Q catalogue queries of two kinds: text search (one or two words, relevance, facets)
   and filtered browsing (task or tag, free or paid, a sort, facets). Each one goes
   a. through our API: GET /v1/models, driven straight into the ASGI app (no sockets),
      so the figure is routing, the query handler, the adapter, OpenSearch and the
      response model;
   b. to OpenSearch directly: the very request body our adapter sent for that query
      (captured on a first pass), with `OpenSearch.search`.
   p50 and p95 of each, and their ratio (goal: ours at most 1.3x).
3. Upload throughput (--upload-mb, 256 by default; 0 skips it): a real ONNX model of that
   size uploaded in parts to our API served by uvicorn, beside a durable copy of the same
   bytes (goal: at least 0.5x); `upload_throughput` says how. `--models 0` runs it alone.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg
from opensearchpy import OpenSearch
from pydantic import SecretStr
from pymongo import MongoClient

from bench.cluster import BENCH_LIMITS
from bench.results import record
from domain.envelope import envelope
from domain.model import Model
from domain.model_details import FRAMEWORKS
from domain.pricing import FREE, Pricing
from infra.bootstrap import build_container
from infra.http.app import create_app
from infra.search.opensearch import OpenSearchIndex
from infra.services.manager import ServiceManager
from infra.settings import Settings
from infra.stores import read_stores
from workers.projector import Projector

_VOCABULARY = (
    "fast accurate tiny large robust multilingual quantized distilled streaming sparse "
    "image text audio speech video vision language detector classifier segmenter encoder "
    "decoder translator summariser tagger ranker embedder captioner transcriber parser "
    "medical legal finance retail satellite traffic wildlife factory document receipt "
    "invoice face pose gesture emotion sentiment toxicity spam fraud churn forecast anomaly "
    "recommendation search retrieval question answering chat code sql weather crop soil"
)
WORDS = tuple(_VOCABULARY.split())
TASKS = ("image-classification", "object-detection", "segmentation", "translation",
         "summarization", "speech-recognition", "text-classification", "embedding",
         "forecasting", "anomaly-detection")  # fmt: skip
TAGS = ("vision", "nlp", "audio", "edge", "gpu", "cpu", "int8", "fp16", "multilingual",
        "realtime", "batch", "medical", "finance", "retail", "open-weights", "sota")  # fmt: skip
LICENSES = ("apache-2.0", "mit", "bsd-3-clause", "cc-by-4.0", "proprietary")
Call = Callable[[], Awaitable[int]]
SIGNATURE = {"inputs": [{"name": "x", "dtype": "float32", "shape": [1, 512]}], "outputs": []}


def fresh_settings() -> tuple[Settings, str, str]:
    """Cluster settings on a database, read-model database and index prefix of their own."""
    manager = ServiceManager()
    if manager.up(["postgres", "ferretdb", "opensearch"]):
        raise SystemExit("the services did not come up: see the messages above")
    env = dict(line.removeprefix("export ").split("=", 1) for line in manager.env_lines())
    tag = f"benchd{uuid.uuid4().hex[:6]}"
    admin_url = env["AIMARKET_DATABASE_URL"]
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{tag}"')
    settings = Settings(
        profile="cluster", database_url=admin_url.rsplit("/", 1)[0] + "/" + tag,
        mongo_url=env["AIMARKET_MONGO_URL"], mongo_database=tag,
        opensearch_url=env["AIMARKET_OPENSEARCH_URL"], search_prefix=tag,
        opensearch_timeout_s=60, jwt_secret=SecretStr("b" * 40),
        data_dir=Path(tempfile.mkdtemp()), redis_url=env.get("AIMARKET_REDIS_URL"),
        **BENCH_LIMITS,
    )  # fmt: skip
    return settings, admin_url, tag


def generated_model(rng: random.Random, n: int) -> Model:
    name = " ".join(rng.sample(WORDS, 2)).title() + f" {n}"
    currency = rng.choice(("EUR", "USD"))
    free = rng.random() < 0.35
    pricing = FREE if free else Pricing(currency=currency, price_per_request=rng.randint(1, 500))
    model = Model(
        publisher_id=uuid.UUID(int=rng.randrange(200)), publisher_name=f"Studio {n % 200}",
        slug=f"model-{n}",
        details={
            "name": name, "description": " ".join(rng.choices(WORDS, k=40)),
            "task": rng.choice(TASKS), "framework": rng.choice(FRAMEWORKS),
            "tags": rng.sample(TAGS, rng.randint(1, 4)), "license": rng.choice(LICENSES),
            "visibility": "public" if rng.random() < 0.9 else "private",
        },
        pricing=pricing.as_dict(),
    )  # fmt: skip
    model.upload_version("1.0.0", "sha256:" + "0" * 64, 1_000_000, uuid.uuid4())
    model.validate_version("1.0.0", "onnx", SIGNATURE)
    model.publish_version("1.0.0")
    count = rng.randint(0, 50)
    model.update_stats({
        "invocations_7d": rng.randint(0, 100_000), "trending": rng.randint(-1000, 3000),
        "rating_count": count, "rating_sum": sum(rng.randint(1, 5) for _ in range(count)),
    })  # fmt: skip
    return model


def load(settings: Settings, count: int) -> float:
    """Project `count` generated models into MongoDB and OpenSearch; return seconds."""
    store, search = read_stores(settings)
    projector = Projector(store, search, ["models"])
    rng, started = random.Random(7), time.perf_counter()
    for start in range(0, count, 500):
        batch = [generated_model(rng, n) for n in range(start, min(count, start + 500))]
        events = [envelope(e) for model in batch for e in model.collect_events()]
        projector.project(events, start + len(batch), "bench")
    search.refresh("models")
    return time.perf_counter() - started


def query_mix(rng: random.Random, count: int) -> list[tuple[str, dict[str, Any]]]:
    queries: list[tuple[str, dict[str, Any]]] = []
    for _ in range(count):
        queries.append(("search", {"q": " ".join(rng.sample(WORDS, rng.choice((1, 1, 2))))}))
        browse: dict[str, Any] = {"sort": rng.choice(("popular", "trending", "recent", "rating"))}
        if rng.random() < 0.5:
            browse["task"] = rng.choice(TASKS)
        else:
            browse["tags"] = rng.choice(TAGS)
        if rng.random() < 0.5:
            browse["price"] = rng.choice(("free", "paid"))
        queries.append(("browse", browse))
    return queries


def asgi_get(app: Any, path: str, query: str, into: list[bytes] | None = None) -> Call:
    """A GET request straight into the ASGI app; the body goes to `into` if given."""
    scope = {
        "type": "http", "http_version": "1.1", "method": "GET", "path": path,
        "raw_path": path.encode(), "query_string": query.encode(), "root_path": "",
        "scheme": "http", "server": ("127.0.0.1", 8000), "client": ("127.0.0.1", 5000),
        "headers": [],
    }  # fmt: skip

    async def call() -> int:
        status = 0

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif into is not None:
                into.append(message.get("body", b""))

        await app(dict(scope), receive, send)
        return status

    return call


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) * 1e3, ordered[int(len(ordered) * 0.95) - 1] * 1e3


async def run(settings: Settings, queries: list[tuple[str, dict[str, Any]]]) -> None:
    container = build_container(settings)
    app = create_app(container)
    adapter = container.read.search
    assert isinstance(adapter, OpenSearchIndex)
    sent: list[dict[str, Any]] = []
    original = adapter._search

    def capture(index: str, body: dict[str, Any]) -> dict[str, Any]:
        sent.append(body)
        return original(index, body)

    calls = [asgi_get(app, "/v1/models", urlencode(params, doseq=True)) for _, params in queries]
    adapter._search = capture  # type: ignore[method-assign]
    for call in calls:  # first pass: warm-up, and the bodies our adapter sends
        assert await call() == 200
    adapter._search = original  # type: ignore[method-assign]
    assert len(sent) == len(calls)
    raw = OpenSearch(hosts=[settings.opensearch_url], timeout=30)
    alias = f"{settings.search_prefix}_models"
    for body in sent:  # warm the raw path as well
        raw.search(index=alias, body=body)

    ours: dict[str, list[float]] = {"search": [], "browse": []}
    direct: dict[str, list[float]] = {"search": [], "browse": []}
    for (kind, _), call, request in zip(queries, calls, sent, strict=True):
        # Alternate the two paths query by query, so load from elsewhere hits both alike.
        t0 = time.perf_counter()
        raw.search(index=alias, body=request)
        direct[kind].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        assert await call() == 200
        ours[kind].append(time.perf_counter() - t0)
    chunks: list[bytes] = []
    assert await asgi_get(app, "/v1/models", "limit=1", chunks)() == 200
    total = json.loads(b"".join(chunks))["total"]
    print(f"\naimarket discovery benchmark: {total} listed models, "
          f"{len(queries) // 2} queries of each kind")  # fmt: skip
    print(f"{'figure':48} {'p50 ms':>8} {'p95 ms':>8} {'p50 x':>7} {'p95 x':>7}")
    for kind in ("search", "browse"):
        raw50, raw95 = percentiles(direct[kind])
        our50, our95 = percentiles(ours[kind])
        print(f"{kind + ': opensearch-py, same body (baseline)':48} {raw50:8.2f} {raw95:8.2f}")
        print(f"{kind + ': GET /v1/models through our API':48} {our50:8.2f} {our95:8.2f} "
              f"{our50 / raw50:7.2f} {our95 / raw95:7.2f}")  # fmt: skip
        met = our50 / raw50 <= 1.3 and our95 / raw95 <= 1.3
        record(
            f"{kind}: GET /v1/models p50",
            our50,
            "ms",
            raw50,
            "opensearch-py, same body",
            our50 / raw50,
            "<= 1.3x (p50 and p95)",
            met,
            f"p95 {our95:.2f} ms, {our95 / raw95:.2f}x",
        )
    raw.close()
    container.close()


def onnx_artifact(megabytes: int) -> bytes:
    """A valid ONNX model of about `megabytes` MiB: y = x @ W with W a random initializer."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    columns = 256
    rows = megabytes * 1024 * 1024 // (4 * columns)
    weights = np.random.default_rng(5).standard_normal((rows, columns), dtype=np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["y"])],
        "bench",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", rows])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", columns])],
        [numpy_helper.from_array(weights, "W")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    return bytes(model.SerializeToString())


PARTS = (
    "part open (load the upload)",
    "part bytes written (+ sha256 to check)",
    "part commit",
    "sha256 as parts arrive (another thread)",
)
COMPLETE = ("seal, check the parts", "sha256 of what is left", "validate", "store (fsync, link)",
            "discard the staging")  # fmt: skip


def _serve_uploads(data_dir: str, part: int, http: str, ready: Any, stages: Any) -> None:
    """Our API in uvicorn on 127.0.0.1, in a process of its own as a real server is; the
    port and the HTTP parser go on `ready`. The upload's stages are timed in here: after
    each complete, {stage: seconds} summed over that upload goes on `stages`."""
    import socket

    import uvicorn

    import commands.upload_parts
    import infra.arriving_parts
    import infra.staging
    from infra.http.lean_body import LeanBodyProtocol

    settings = Settings(
        profile="embedded", data_dir=Path(data_dir), upload_part_bytes=part, **BENCH_LIMITS
    )
    container = build_container(settings)
    container.start_runner()
    uploads = container.uploads
    spent: dict[str, float] = {}

    def timed(stage: str, call: Callable[..., Any]) -> Callable[..., Any]:
        def timed_call(*args: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return call(*args)
            finally:
                spent[stage] = spent.get(stage, 0.0) + time.perf_counter() - t0
                if stage == "complete":
                    stages.put(dict(spent))
                    spent.clear()

        return timed_call

    open_part, write, commit, ahead = PARTS
    seal, hashing, validation, store, discard = COMPLETE
    for owner, name, stage in (
        (uploads, "open_part", open_part),
        (commands.upload_parts.PartSlot, "write_all", write),
        (commands.upload_parts.PartSlot, "finish", commit),
        (uploads, "_seal", seal),
        (infra.arriving_parts.AheadHasher, "_hash_next", ahead),
        (infra.staging.SealedFile, "sha256", hashing),
        (uploads.validator, "validate", validation),
        (uploads.blobs, "put_file", store),
        (uploads.staging, "discard", discard),
        (uploads, "complete", "complete"),
    ):
        setattr(owner, name, timed(stage, getattr(owner, name)))
    # IPPROTO_TCP named, so that asyncio sets TCP_NODELAY on the accepted connections, as
    # it does when uvicorn binds a host and port itself; without it every response waits
    # out the client's delayed ACK (40 ms).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    protocol: Any = LeanBodyProtocol if http == "auto" else http  # as `aimarket serve` runs
    config = uvicorn.Config(
        create_app(container), http=protocol, log_level="warning", access_log=False
    )
    if http == "auto":
        http = "httptools, bodies handed over without copies (infra/http/lean_body.py)"
    ready.put((sock.getsockname()[1], http))
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        container.close()


def _copy_figures(source: Path, scratch: Path) -> tuple[float, float]:
    """Seconds for a plain copy of `source` to a new file: page cache only, and then made
    durable with fsync as our blob store makes an artifact."""
    import shutil

    target = scratch / "copy.onnx"
    t0 = time.perf_counter()
    shutil.copyfile(source, target)
    cached = time.perf_counter() - t0
    with target.open("rb") as f:
        os.fsync(f.fileno())
    durable = time.perf_counter() - t0
    target.unlink()
    return cached, durable


@dataclass
class _Upload:
    parts_s: float  # start and every part, at the client
    total_s: float  # and complete
    spent: dict[str, float]  # server stages


class _Client:
    """A cheap HTTP/1.1 client on one keep-alive connection: a part's body goes from the
    artifact file to the socket by `socket.sendfile`, with no Python between them. On
    this 2-core box the client shares the cores with the server; a real client runs
    elsewhere, so the client's own cost is kept out of the figures as far as it can be."""

    def __init__(self, port: int, headers: dict[str, str]) -> None:
        import http.client

        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        self.headers = headers

    def _send(self, method: str, path: str, headers: dict[str, str], length: int) -> None:
        self.connection.putrequest(method, path, skip_accept_encoding=True)
        for name, value in {**self.headers, **headers, "Content-Length": str(length)}.items():
            self.connection.putheader(name, value)
        self.connection.endheaders()

    def _answer(self) -> tuple[int, Any]:
        response = self.connection.getresponse()
        return response.status, json.loads(response.read())

    def json(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = b"" if body is None else json.dumps(body).encode()
        self._send(method, path, {"Content-Type": "application/json"}, len(data))
        self.connection.send(data)
        return self._answer()

    def part(self, path: str, file: Any, offset: int, length: int,
             headers: dict[str, str]) -> tuple[int, Any]:  # fmt: skip
        self._send("PUT", path, {"Content-Type": "application/octet-stream", **headers}, length)
        sock = self.connection.sock
        assert sock is not None
        sent = sock.sendfile(file, offset, length)
        assert sent == length, (sent, length)
        return self._answer()

    def close(self) -> None:
        self.connection.close()


def _upload(clients: list[_Client], model_id: str, version: str, artifact: Path, part: int,
            verify: bool, stages: Any) -> _Upload:  # fmt: skip
    """One upload of the file `artifact`, its parts sent over `clients` at once (each part
    on the next free connection), as multipart clients do. What a client does before it
    starts is not timed: hashing the file (and, with `verify`, each part's digest)."""
    import base64
    import hashlib
    from concurrent.futures import ThreadPoolExecutor

    size = artifact.stat().st_size
    ranges = [(offset, min(part, size - offset)) for offset in range(0, size, part)]
    digests: list[dict[str, str]] = [{} for _ in ranges]
    with artifact.open("rb") as file:
        sha = hashlib.file_digest(file, "sha256").hexdigest()
        if verify:
            for n, (offset, length) in enumerate(ranges):
                file.seek(offset)
                digest = base64.b64encode(hashlib.sha256(file.read(length)).digest()).decode()
                digests[n] = {"Content-Digest": f"sha-256=:{digest}:"}
        t0 = time.perf_counter()
        declared = {"version": version, "size": size, "sha256": sha}
        code, started = clients[0].json("POST", f"/v1/models/{model_id}/uploads", declared)
        assert code == 201, started
        upload = started["upload_id"]
        free = list(clients)  # taken and given back by the sending threads

        def send(n: int, offset: int, length: int) -> None:
            client = free.pop()
            try:
                with artifact.open("rb") as own:  # sendfile per connection, own offset
                    path = f"/v1/uploads/{upload}/parts/{n}"
                    code, sent = client.part(path, own, offset, length, digests[n - 1])
                assert code == 200, sent
            finally:
                free.append(client)

        with ThreadPoolExecutor(len(clients)) as senders:
            for sent in [senders.submit(send, n, *r) for n, r in enumerate(ranges, start=1)]:
                sent.result()
    parts_s = time.perf_counter() - t0
    code, done = clients[0].json("POST", f"/v1/uploads/{upload}/complete")
    total_s = time.perf_counter() - t0
    assert code == 200 and done["status"] == "validated", done
    return _Upload(parts_s, total_s, stages.get(timeout=10))


def upload_throughput(megabytes: int, part_mb: int, runs: int, http: str = "auto",
                      verify: bool = False, connections: int = 2) -> None:  # fmt: skip
    """MiB/s of an upload of a real ONNX model through our API, beside a plain copy.

    The API runs in uvicorn in a process of its own (`http`: its HTTP parser, "auto"
    being httptools when installed); the client (`_Client`) talks HTTP/1.1 over a
    socket on 127.0.0.1 and sends each part from the file with sendfile. On the embedded
    profile: artifacts go to the same filesystem store in both profiles, and the event
    store sees a handful of events per upload. The baseline is a copy of the same bytes
    made as durable as our store makes an artifact: copied, then fsynced. Beside it:
    a. the upload: start, the parts, and complete (sha256 check, store), less the ONNX
       validation, timed in the server around the validator;
    b. the same, end to end: validation included;
    c. the same bytes again as another version: checked, validated, deduplicated.
    With `verify` every part carries a Content-Digest that the server checks. Each run
    uploads bytes no earlier run stored (one byte of the weights changed), and the
    figures are medians over the runs."""
    import multiprocessing
    import shutil

    import httpx

    from tests.support import verified_account

    artifact = onnx_artifact(megabytes)
    size, part, mib = len(artifact), part_mb * 1024 * 1024, len(artifact) / 2**20
    scratch = Path(tempfile.mkdtemp())
    source = scratch / "model.onnx"
    source.write_bytes(artifact)
    with source.open("rb") as f:
        os.fsync(f.fileno())
    copies: list[tuple[float, float]] = []  # (page cache, durable), one before each run

    spawn = multiprocessing.get_context("spawn")
    ready, stages = spawn.Queue(), spawn.Queue()
    data_dir = scratch / "data"
    server = spawn.Process(target=_serve_uploads, args=(str(data_dir), part, http, ready, stages))
    server.start()
    first: list[_Upload] = []
    again: list[_Upload] = []
    try:
        port, parser = ready.get(timeout=120)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=600) as setup:
            for _ in range(600):
                with contextlib.suppress(httpx.TransportError):
                    if setup.get("/v1/health").status_code == 200:
                        break
                time.sleep(0.05)
            owner = verified_account(setup, data_dir / "outbox", role="publisher")  # type: ignore[arg-type]
            made = setup.post("/v1/models", json={"slug": "big", "name": "Big"},
                              headers=owner.headers)  # fmt: skip
            model_id = made.json()["id"]
        clients = [_Client(port, owner.headers) for _ in range(connections)]
        for run in range(runs):
            content = bytearray(artifact)
            content[size // 2] ^= run  # the middle of W: still a valid model
            source.write_bytes(content)  # in the page cache, as a client's file would be
            os.sync()  # each clock starts on a settled disk: no write-back left from before
            copies.append(_copy_figures(source, scratch))
            os.sync()
            for into, patch in ((first, 0), (again, 1)):
                os.sync()
                into.append(_upload(clients, model_id, f"{run + 1}.0.{patch}", source, part,
                                    verify, stages))  # fmt: skip
            print(f"  run {run + 1}: first {first[-1].total_s:.3f} s "
                  f"(validation {first[-1].spent['validate']:.3f} s), "
                  f"again {again[-1].total_s:.3f} s", flush=True)  # fmt: skip
        for client in clients:
            client.close()
    finally:
        server.terminate()
        server.join(30)
        shutil.rmtree(scratch)

    checked = ", each part's Content-Digest checked" if verify else ""
    print(f"\nupload of a {mib:.0f} MiB ONNX model in {part_mb} MiB parts over {connections} "
          f"connection(s){checked}, {runs} runs: uvicorn ({parser}) in a process of its own, "
          "sendfile client over 127.0.0.1. Medians; \"vs copy\" is the median of each run's "
          "ratio to the copy made just before it.")  # fmt: skip
    print(f"{'figure':52} {'seconds':>8} {'MiB/s':>8} {'vs copy':>8}")
    durable = [d for _, d in copies]

    def row(label: str, seconds: list[float], ratio: bool = True) -> None:
        middle = statistics.median(seconds)
        versus = ""
        if ratio:
            versus = (
                f" {statistics.median(d / s for d, s in zip(durable, seconds, strict=True)):8.2f}"
            )
        print(f"{label:52} {middle:8.3f} {mib / middle:8.0f}{versus}")

    def median(of: list[_Upload], figure: Callable[[_Upload], float]) -> float:
        return statistics.median(figure(upload) for upload in of)

    row("plain copy, page cache only", [c for c, _ in copies], ratio=False)
    row("plain copy + fsync (the baseline: our store fsyncs)", durable)
    row("a. upload, less validation", [u.total_s - u.spent["validate"] for u in first])
    row("b. upload, end to end", [u.total_s for u in first])
    row("c. same bytes again, less validation", [u.total_s - u.spent["validate"] for u in again])
    row("c. same bytes again, end to end", [u.total_s for u in again])
    upload_s = [u.total_s - u.spent["validate"] for u in first]
    ratio = statistics.median(d / s for d, s in zip(durable, upload_s, strict=True))
    record(
        f"upload {mib:.0f} MiB, less validation",
        mib / statistics.median(upload_s),
        "MiB/s",
        mib / statistics.median(durable),
        "plain copy + fsync",
        ratio,
        ">= 0.5x",
        ratio >= 0.5,
        f"end to end {mib / statistics.median([u.total_s for u in first]):.0f} MiB/s",
    )

    def spent(stage: str) -> Callable[[_Upload], float]:
        return lambda u: u.spent.get(stage, 0.0)

    lines = [("client: start + parts, wall", lambda u: u.parts_s)]
    lines += [(f"  server: {stage}", spent(stage)) for stage in PARTS]
    lines.append(("client: complete, wall", lambda u: u.total_s - u.parts_s))
    lines += [(f"  server: {stage}", spent(stage)) for stage in COMPLETE]

    def rest(u: _Upload) -> float:
        return u.spent["complete"] - sum(u.spent.get(stage, 0.0) for stage in COMPLETE)

    lines.append(("  server: the rest of complete (loads, events)", rest))
    print(f"\n{'where the time goes, µs per MiB (medians)':52} {'first':>8} {'again':>8}")
    for label, figure in lines:
        print(f"{label:52} {median(first, figure) / mib * 1e6:8.0f} "
              f"{median(again, figure) / mib * 1e6:8.0f}")  # fmt: skip


def cleanup(settings: Settings, admin_url: str, tag: str) -> None:
    assert settings.mongo_url
    read_stores(settings)[1].drop("models")
    mongo: MongoClient[dict[str, Any]]
    with MongoClient(settings.mongo_url) as mongo:
        mongo.drop_database(settings.mongo_database)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{tag}" WITH (FORCE)')


def main(args: argparse.Namespace) -> None:
    models, queries = args.models, args.queries
    if args.upload_mb:
        upload_throughput(args.upload_mb, args.part_mb, args.upload_runs, args.http,
                          args.verify_parts, args.connections)  # fmt: skip
    if not models:
        return
    settings, admin_url, tag = fresh_settings()
    try:
        if models:
            print(f"projecting {models} generated models into MongoDB and OpenSearch ...",
                  flush=True)  # fmt: skip
            seconds = load(settings, models)
            print(f"loaded in {seconds:.1f} s ({models / seconds:.0f} models/s)", flush=True)
            asyncio.run(run(settings, query_mix(random.Random(11), queries)))
    finally:
        cleanup(settings, admin_url, tag)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=300, help="of each kind")
    parser.add_argument("--upload-mb", type=int, default=256, help="0 skips the upload figure")
    parser.add_argument("--part-mb", type=int, default=Settings().upload_part_bytes // 2**20,
                        help="the upload's part size (default: the server's)")  # fmt: skip
    parser.add_argument("--upload-runs", type=int, default=3, help="uploads of each kind")
    parser.add_argument("--connections", type=int, default=2,
                        help="the upload client's connections, each sending parts")  # fmt: skip
    parser.add_argument("--http", choices=("auto", "h11", "httptools"), default="auto",
                        help="uvicorn's HTTP parser (auto: as `aimarket serve`)")  # fmt: skip
    parser.add_argument("--verify-parts", action="store_true",
                        help="each part with a Content-Digest for the server to check")  # fmt: skip
    main(parser.parse_args())
