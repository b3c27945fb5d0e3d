"""Benchmark: what our gateway costs a request, over real sockets.

    .venv/bin/python bench/gateway.py [--seconds S] [--connections C] [--profile P ...]

A protected route through the whole stack (`GET /v1/auth/me` with an API key: request id,
key authentication, rate limit, metrics, tracing at its default sampling, the JSON access
log written to a file) served as a user runs it (embedded: `aimarket run`; cluster:
`aimarket api`, with `aimarket relay` and `aimarket worker projections` beside it), beside
a bare FastAPI route on bare uvicorn, in one run. Both get one uvicorn worker; the load is
wrk (1 thread, C connections, from Debian: installed when missing), rounds interleaved, on
the same cores.

Goal (issue 15): at least 0.8x the bare route's requests/s and p99 at most 1.5x its p99.
"""

from __future__ import annotations

import argparse
import multiprocessing
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
from fastapi import FastAPI

from bench.results import record
from infra.settings import Settings
from tests.pipeline import start, stop

ROOT = Path(__file__).resolve().parents[1]
BOUNDS = ("bare-redis", "bare-redis-async")  # cluster only: what the goal leaves the rest
PASSWORD = "a long bench password 1"


@dataclass(frozen=True)
class Load:
    per_s: float
    p50_ms: float
    p99_ms: float


def wrk_binary() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    from infra.services.installers import apt_install

    log = ROOT / "var" / "cache" / "wrk-install.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    apt_install(["wrk"], print, log)
    return shutil.which("wrk") or "/usr/bin/wrk"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve_bare(port: int, redis_url: str | None) -> None:
    import uvicorn

    app = FastAPI()
    if redis_url is not None:
        _add_redis_bound(app, redis_url)

    @app.get("/bare")  # FastAPI's first example: an async route
    async def bare() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/bare-sync")  # a plain `def` route, run in the thread pool, as ours is
    def bare_sync() -> dict[str, str]:
        return {"status": "ok"}

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def _add_redis_bound(app: FastAPI, redis_url: str) -> None:
    """The bare async route plus only the rate-limit check the whole stack makes (the same
    adapter, script and two buckets): what the goal allows for everything else."""
    from bench.cluster import wide_redis_check
    from infra.ratelimit_redis import TAKE_ALL, script_call

    buckets, limits = wide_redis_check(redis_url, "reads")

    @app.get("/bare-redis")
    async def bare_redis() -> dict[str, str]:
        buckets.take_all(limits)
        return {"status": "ok"}

    # The same script through redis-py's asyncio client: the loop serves others meanwhile.
    import redis.asyncio

    script = redis.asyncio.Redis.from_url(redis_url).register_script(TAKE_ALL)
    prefix = f"bound:{uuid.uuid4()}:"

    @app.get("/bare-redis-async")
    async def bare_redis_async() -> dict[str, str]:
        keys, args = script_call(prefix, limits, 1, time.time())
        await script(keys=keys, args=args)
        return {"status": "ok"}


def wait_listening(port: int, path: str) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}{path}", timeout=2).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"nothing answered on port {port}")


def api_key(port: int, data_dir: Path) -> str:
    base = f"http://127.0.0.1:{port}"
    email = f"gw-{uuid.uuid4().hex[:8]}@example.com"
    registered = httpx.post(f"{base}/v1/auth/register", json={"email": email, "password": PASSWORD})
    assert registered.is_success, registered.text
    token = verification_token(data_dir, email)
    assert httpx.post(f"{base}/v1/auth/verify-email", json={"token": token}).is_success
    login = httpx.post(f"{base}/v1/auth/login", json={"email": email, "password": PASSWORD})
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    made = httpx.post(f"{base}/v1/auth/api-keys", json={"name": "bench", "scopes": ["inference"]},
                      headers=headers)  # fmt: skip
    assert made.is_success, made.text
    key = str(made.json()["key"])
    deadline = time.monotonic() + 60  # the account's read model is the projection's
    while httpx.get(f"{base}/v1/auth/me", headers={"X-API-Key": key}).status_code != 200:
        if time.monotonic() > deadline:
            raise RuntimeError("the account was not projected in time")
        time.sleep(0.2)
    return key


def verification_token(data_dir: Path, email: str) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for mail in (data_dir / "outbox").glob("*.eml"):
            text = mail.read_text()
            if email in text:
                return next(line for line in text.splitlines() if line.startswith("eyJ"))
        time.sleep(0.1)
    raise RuntimeError("no verification email")


def run_wrk(wrk: str, url: str, seconds: int, connections: int, headers: list[str]) -> Load:
    command = [wrk, "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    for header in headers:
        command += ["-H", header]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    if "Non-2xx" in out:
        raise RuntimeError(f"errors under load:\n{out}")
    per_s = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    return Load(per_s, latency(out, "50%"), latency(out, "99%"))


def latency(out: str, percentile: str) -> float:
    value, unit = re.search(rf"{percentile}\s+([\d.]+)(us|ms|s)\b", out).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def median_load(loads: list[Load]) -> Load:
    return Load(
        *(statistics.median(getattr(x, f) for x in loads) for f in Load.__dataclass_fields__)
    )


def settings_for(profile: str) -> Settings:
    from bench.cluster import BENCH_LIMITS, fresh_cluster

    # Buckets too wide to refuse the load, still taken from on every request.
    limits: dict[str, Any] = {"log_level": "INFO", **BENCH_LIMITS}
    if profile == "cluster":
        settings, _ = fresh_cluster(["postgres", "redis", "kafka", "ferretdb", "opensearch"],
                                    "gw", **limits)  # fmt: skip
        return settings
    return Settings(profile="embedded", data_dir=Path(tempfile.mkdtemp()), **limits)


def measure(profile: str, args: argparse.Namespace, wrk: str) -> None:
    settings = settings_for(profile)
    bare_port, our_port = free_port(), free_port()
    logs = settings.data_dir
    redis_url = settings.redis_url if profile == "cluster" else None
    bare = multiprocessing.get_context("spawn").Process(
        target=serve_bare, args=(bare_port, redis_url)
    )
    bare.start()
    serving = ["run"] if profile == "embedded" else ["api"]
    commands = [[*serving, "--port", str(our_port)]]
    if profile == "cluster":
        commands += [["relay"], ["worker", "projections"]]
    with ExitStack() as stack:
        stack.callback(bare.join, 10)
        stack.callback(bare.terminate)
        for command in commands:
            process = start(command, settings, logs / f"{command[0]}-{command[-1]}.log")
            stack.callback(stop, process)
        wait_listening(bare_port, "/bare")
        wait_listening(our_port, "/v1/health")
        key = api_key(our_port, settings.data_dir)
        base = f"http://127.0.0.1:{bare_port}"
        urls = {
            "bare": (f"{base}/bare", []),
            "bare-sync": (f"{base}/bare-sync", []),
            **({name: (f"{base}/{name}", []) for name in BOUNDS} if redis_url else {}),
            "ours": (f"http://127.0.0.1:{our_port}/v1/auth/me", [f"X-API-Key: {key}"]),
        }
        loads: dict[str, list[Load]] = {name: [] for name in urls}
        for url, headers in urls.values():  # warm all
            run_wrk(wrk, url, 2, args.connections, headers)
        for _ in range(args.rounds):
            for name, (url, headers) in urls.items():
                loads[name].append(run_wrk(wrk, url, args.seconds, args.connections, headers))
        report(profile, {name: median_load(each) for name, each in loads.items()})


def report(profile: str, loads: dict[str, Load]) -> None:
    bare, ours = loads["bare"], loads["ours"]
    names = {
        "bare": "bare FastAPI `async def` route on bare uvicorn (baseline)",
        "bare-sync": "bare FastAPI `def` route (thread pool) on bare uvicorn",
        "bare-redis": "bare `async def` route + only the Redis rate-limit check",
        "bare-redis-async": "the same, the check through redis-py's asyncio client",
        "ours": "GET /v1/auth/me with an API key, the whole stack",
    }
    for name, load in loads.items():
        print(f"{profile}: {names[name]:58} {load.per_s:8,.0f}/s  p50 {load.p50_ms:6.2f} ms"
              f"  p99 {load.p99_ms:6.2f} ms  {load.per_s / bare.per_s:5.2f}x")  # fmt: skip
    throughput, tail = ours.per_s / bare.per_s, ours.p99_ms / bare.p99_ms
    met = "met" if throughput >= 0.8 and tail <= 1.5 else "NOT met"
    print(f"{profile}: throughput {throughput:.2f}x (goal >= 0.8x), p99 {tail:.2f}x "
          f"(goal <= 1.5x): {met}")  # fmt: skip
    bound = loads.get("bare-redis")
    record(
        f"gateway, {profile}: GET /v1/auth/me, whole stack",
        ours.per_s,
        "req/s",
        bare.per_s,
        "bare FastAPI async route",
        throughput,
        ">= 0.8x /s and <= 1.5x p99",
        met == "met",
        f"p99 {tail:.2f}x" + (f"; bound {bound.per_s / bare.per_s:.2f}x /s" if bound else ""),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--profile", nargs="+", default=["embedded", "cluster"])
    args = parser.parse_args()
    wrk = wrk_binary()
    for profile in args.profile:
        measure(profile, args, wrk)


if __name__ == "__main__":
    main()
