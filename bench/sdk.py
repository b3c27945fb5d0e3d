"""Benchmark: the SDK (aimarket_client) beside the lowest-cost clients, in one run.

    .venv/bin/python bench/sdk.py [--part upload|infer|all] [--upload-mb 256 --runs 3]
                                  [--requests 2000]

1. Upload throughput: the same real ONNX file uploaded to our API (uvicorn in a process of
   its own, the embedded profile: bench/discovery.py's server) by the upload benchmark's
   own client (HTTP/1.1 on keep-alive sockets, each part sent from the file with
   `sendfile`, the sha256 computed before the clock starts) and by
   `client.models.push`, both on 2 connections in the server's part size, taking turns,
   each upload of bytes not stored before. The SDK is timed as a user sees it (hashing the
   file included, each part with its digest) and like for like (no part digests, less the
   time it takes to hash the file, which the other client does before its clock). Goal:
   the SDK at least 0.9x the other's MiB/s, like for like.
2. `client.models.infer` p50 beside a raw `httpx.Client.post` of the same request (the
   model's input as a raw tensor, outputs asked as base64, the answer's JSON parsed), one
   call after the other on one keep-alive connection each, 4 floats in (bench/inference.py's
   server). Goal: the SDK's p50 at most 1.1x.
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sdk" / "python"))  # uninstalled
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
import numpy as np
from aimarket_client import Client
from aimarket_client.ops.uploads import file_sha256
from aimarket_client.tensors import encode_inputs

from bench import discovery, inference
from bench.results import record
from infra.settings import Settings
from tests.support import PASSWORD, verified_account

UPLOAD_GOAL, INFER_GOAL = 0.9, 1.1


def upload_figures(megabytes: int, runs: int) -> None:
    part = Settings().upload_part_bytes
    scratch = Path(tempfile.mkdtemp())
    source, artifact = scratch / "model.onnx", bytearray(discovery.onnx_artifact(megabytes))
    spawn = multiprocessing.get_context("spawn")
    ready, stages = spawn.Queue(), spawn.Queue()
    data_dir = scratch / "data"
    server = spawn.Process(target=discovery._serve_uploads,
                           args=(str(data_dir), part, "auto", ready, stages))  # fmt: skip
    server.start()
    seconds: dict[str, list[float]] = {"theirs": [], "sdk": [], "sdk like for like": []}
    try:
        port, _ = ready.get(timeout=120)
        base_url = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base_url, timeout=600) as setup:
            _wait_healthy(setup)
            owner = verified_account(setup, data_dir / "outbox", role="publisher")  # type: ignore[arg-type]

        def theirs() -> list[Any]:  # fresh connections: the server closes idle ones after 5 s
            return [discovery._Client(port, owner.headers) for _ in range(2)]

        sdk = Client(base_url, timeout_s=600)
        sdk.login(owner.email, PASSWORD)
        model_id = sdk.models.create("big", "Big")
        for run in range(runs):
            for n, kind in enumerate(seconds):
                artifact[len(artifact) // 2] ^= 1 + n  # new bytes: the middle of W
                source.write_bytes(artifact)
                version = f"{run + 1}.{n}.0"
                seconds[kind].append(_upload(kind, theirs, sdk, model_id, version, source, part))
                stages.get(timeout=60)  # the server's stage timings: not needed here
            took = ", ".join(f"{kind} {values[-1]:.3f} s" for kind, values in seconds.items())
            print(f"  run {run + 1}: {took}", flush=True)
        sdk.close()
    finally:
        server.terminate()
        server.join(30)
    _report_uploads(len(artifact) / 2**20, part, runs, seconds)


def _upload(kind: str, theirs: Callable[[], list[Any]], sdk: Client, model_id: str, version: str,
            source: Path, part: int) -> float:  # fmt: skip
    if kind == "theirs":
        return float(discovery._upload(theirs(), model_id, version, source, part, False,
                                       _NoStages()).total_s)  # fmt: skip
    lean = kind != "sdk"
    hashing = 0.0
    if lean:
        t0 = time.perf_counter()
        file_sha256(source)
        hashing = time.perf_counter() - t0
    t0 = time.perf_counter()
    done = sdk.models.push(source, model=model_id, version=version, parallel=2,
                           part_digests=not lean)  # fmt: skip
    assert done.status == "validated", done
    return time.perf_counter() - t0 - hashing


class _NoStages:
    """discovery._upload reads the server's stage timings; this script reads them itself."""

    def get(self, timeout: float) -> dict[str, float]:
        return {}


def _wait_healthy(client: httpx.Client) -> None:
    for _ in range(600):
        try:
            if client.get("/v1/health").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise RuntimeError("the server did not come up")


def _report_uploads(mib: float, part: int, runs: int, seconds: dict[str, list[float]]) -> None:
    print(f"\nupload of a {mib:.0f} MiB ONNX model (validation included) in "
          f"{part // 2**20} MiB parts on 2 connections, {runs} runs, medians:")  # fmt: skip
    base = statistics.median(seconds["theirs"])
    for kind, values in seconds.items():
        middle = statistics.median(values)
        print(f"  {kind:28} {middle:8.3f} s {mib / middle:8.0f} MiB/s {base / middle:6.2f}x")
    ratio = base / statistics.median(seconds["sdk like for like"])
    met = "met" if ratio >= UPLOAD_GOAL else "NOT met"
    print(f"goal: the SDK at least {UPLOAD_GOAL}x like for like: {ratio:.2f}x, {met}")
    ours = statistics.median(seconds["sdk like for like"])
    record(
        "SDK upload, like for like",
        mib / ours,
        "MiB/s",
        mib / base,
        "the upload bench's client",
        ratio,
        f">= {UPLOAD_GOAL}x",
        met == "met",
    )


def infer_figures(requests: int) -> None:
    spawn = multiprocessing.get_context("spawn")
    ready = spawn.Queue()
    scratch = tempfile.mkdtemp()
    server = spawn.Process(target=inference.serve,
                           args=(scratch, [inference.affine_model(4, 3)], ready))  # fmt: skip
    server.start()
    try:
        port, key, (model_id,) = ready.get(timeout=180)
        base_url = f"http://127.0.0.1:{port}"
        x = np.random.default_rng(2).standard_normal((1, 4)).astype(np.float32)
        sdk = Client(base_url, api_key=key)
        sdk.models.infer(model_id, {"x": x}, wait_loading_s=60)  # deployed, warm
        raw = httpx.Client(base_url=base_url, headers={"X-API-Key": key})
        path = f"/v1/models/{model_id}/infer"
        samples: dict[str, list[float]] = {"raw httpx": [], "client.models.infer": []}
        for _ in range(requests):
            t0 = time.perf_counter()
            body = {"inputs": encode_inputs({"x": x}), "output_format": "base64"}
            answer = raw.post(path, json=body)
            answer.raise_for_status()
            answer.json()
            t1 = time.perf_counter()
            sdk.models.infer(model_id, {"x": x})
            t2 = time.perf_counter()
            samples["raw httpx"].append(t1 - t0)
            samples["client.models.infer"].append(t2 - t1)
        raw.close()
        sdk.close()
    finally:
        server.terminate()
        server.join(30)
    _report_infer(requests, samples)


def _report_infer(requests: int, samples: dict[str, list[float]]) -> None:
    print(f"\n{requests} calls of each, one after the other (4 floats in), ms:")
    p50 = {}
    for kind, values in samples.items():
        ordered = sorted(values)
        p50[kind] = statistics.median(ordered)
        p95 = ordered[int(len(ordered) * 0.95)]
        print(f"  {kind:22} p50 {p50[kind] * 1e3:7.3f}  p95 {p95 * 1e3:7.3f}")
    ratio = p50["client.models.infer"] / p50["raw httpx"]
    met = "met" if ratio <= INFER_GOAL else "NOT met"
    print(f"goal: the SDK's p50 at most {INFER_GOAL}x raw httpx: {ratio:.2f}x, {met}")
    record(
        "SDK client.models.infer, p50",
        p50["client.models.infer"] * 1e3,
        "ms",
        p50["raw httpx"] * 1e3,
        "raw httpx",
        ratio,
        f"<= {INFER_GOAL}x",
        met == "met",
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("upload", "infer", "all"), default="all")
    parser.add_argument("--upload-mb", type=int, default=256)
    parser.add_argument("--runs", type=int, default=3, help="uploads of each kind")
    parser.add_argument("--requests", type=int, default=2000, help="calls of each kind")
    args = parser.parse_args()
    if args.part in ("upload", "all"):
        upload_figures(args.upload_mb, args.runs)
    if args.part in ("infer", "all"):
        infer_figures(args.requests)
