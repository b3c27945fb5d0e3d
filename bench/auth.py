"""Benchmark: what authentication costs, beside a bare FastAPI route in the same run.

    .venv/bin/python bench/auth.py [--requests N]

Requests are driven straight into the ASGI apps (no sockets), so the figures are the
app's own cost. Embedded profile, data in a temporary directory, production argon2 cost.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fastapi import FastAPI

from bench.cluster import BENCH_LIMITS
from bench.results import record
from infra.bootstrap import build_container
from infra.http.app import create_app
from infra.http.deps import CurrentPrincipal
from infra.logs import configure_logging
from infra.settings import Settings

Call = Callable[[], Awaitable[int]]


def asgi_call(app: Any, method: str, path: str, headers: dict[str, str], body: bytes = b"") -> Call:
    scope = {
        "type": "http",
        "http_version": "1.1",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "scheme": "http",
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 5000),
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }

    async def call() -> int:
        status = 0
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        await app(dict(scope), receive, send)
        return status

    return call


async def measure(call: Call, requests: int) -> dict[str, float]:
    for _ in range(min(200, requests)):
        assert await call() < 400
    samples = []
    started = time.perf_counter()
    for _ in range(requests):
        t0 = time.perf_counter()
        status = await call()
        samples.append(time.perf_counter() - t0)
        assert status < 400, status
    elapsed = time.perf_counter() - started
    samples.sort()
    return {
        "p50_ms": statistics.median(samples) * 1e3,
        "p99_ms": samples[int(len(samples) * 0.99) - 1] * 1e3,
        "rps": requests / elapsed,
    }


def bare_app() -> FastAPI:
    app = FastAPI()

    @app.get("/whoami")
    async def whoami() -> dict[str, str]:
        return {"id": "00000000-0000-0000-0000-000000000000"}

    return app


def timed(fn: Callable[[], object], n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return sorted(out)


async def main(requests: int) -> None:
    configure_logging("INFO")
    logging.getLogger("aimarket").handlers[0].setStream(open("/dev/null", "w"))  # noqa: SIM115
    data = Path(tempfile.mkdtemp(prefix="aimarket-bench-"))
    container = build_container(
        Settings(
            data_dir=data,
            # This measures login, not its limits: one email, many logins.
            login_attempts_per_minute=10**6,
            login_attempts_per_client_per_minute=10**6,
            **BENCH_LIMITS,
        )
    )
    app = create_app(container)

    @app.get("/bench/whoami")
    async def whoami(principal: CurrentPrincipal) -> dict[str, str]:
        return {"id": str(principal.user_id)}

    @app.get("/bench/anonymous")
    async def anonymous() -> dict[str, str]:
        return {"id": "00000000-0000-0000-0000-000000000000"}

    register = asgi_call(
        app,
        "POST",
        "/v1/auth/register",
        {"content-type": "application/json"},
        b'{"email": "bench@example.com", "password": "bench password"}',
    )
    assert await register() == 201
    user = container.account_commands.find_user_by_email("bench@example.com")
    assert user is not None
    container.account_commands.verify_email(user.id)
    from domain.principal import Principal

    principal = Principal(user.id, "consumer", True, "jwt")
    key = container.api_keys.create(principal, "bench", ["inference"], None).key

    verify = timed(lambda: container.api_keys.authenticate(key), requests)
    bare = await measure(asgi_call(bare_app(), "GET", "/whoami", {}), requests)
    anonymous_route = await measure(asgi_call(app, "GET", "/bench/anonymous", {}), requests)
    authed = await measure(asgi_call(app, "GET", "/bench/whoami", {"x-api-key": key}), requests)

    login_body = b'{"email": "bench@example.com", "password": "bench password"}'
    login = asgi_call(
        app, "POST", "/v1/auth/login", {"content-type": "application/json"}, login_body
    )
    n_login = 30
    t0 = time.perf_counter()
    for _ in range(n_login):
        assert await login() == 200
    login_rps = n_login / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    for i in range(n_login):
        body = b'{"email": "bench-%d@example.com", "password": "bench password"}' % i
        assert (
            await asgi_call(
                app, "POST", "/v1/auth/register", {"content-type": "application/json"}, body
            )()
            == 201
        )
    register_rps = n_login / (time.perf_counter() - t0)

    p50 = statistics.median(verify) * 1e3
    p99 = verify[int(len(verify) * 0.99) - 1] * 1e3
    print(f"aimarket auth benchmark, {requests} requests per figure, embedded profile")
    print(f"{'figure':44} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>9} {'vs bare':>8}")
    print(f"{'API key verification, cached (in process)':44} {p50:8.4f} {p99:8.4f}")
    print(
        f"{'bare FastAPI route (baseline)':44} {bare['p50_ms']:8.4f} {bare['p99_ms']:8.4f} "
        f"{bare['rps']:9.0f} {1.0:8.2f}"
    )
    print(
        f"{'same route in our app, no auth':44} {anonymous_route['p50_ms']:8.4f} "
        f"{anonymous_route['p99_ms']:8.4f} {anonymous_route['rps']:9.0f} "
        f"{anonymous_route['rps'] / bare['rps']:8.2f}"
    )
    print(
        f"{'same route in our app, API key':44} {authed['p50_ms']:8.4f} "
        f"{authed['p99_ms']:8.4f} {authed['rps']:9.0f} {authed['rps'] / bare['rps']:8.2f}"
    )
    print(
        f"{'login (argon2id t=3, 64 MiB)':44} {'':8} {'':8} {login_rps:9.1f} "
        f"{login_rps / bare['rps']:8.4f}"
    )
    print(
        f"{'register (argon2id t=3, 64 MiB)':44} {'':8} {'':8} {register_rps:9.1f} "
        f"{register_rps / bare['rps']:8.4f}"
    )
    added = authed["p99_ms"] - anonymous_route["p99_ms"]
    print(
        f"API-key auth adds {added:.4f} ms at p99 to the same route (goal < 0.2 ms) and keeps "
        f"{authed['rps'] / anonymous_route['rps']:.2f}x its throughput (goal >= 0.8x); "
        f"against a bare FastAPI app: {authed['rps'] / bare['rps']:.2f}x"
    )
    kept = authed["rps"] / anonymous_route["rps"]
    record(
        "API-key auth: p99 added to the same route",
        added,
        "ms",
        anonymous_route["p99_ms"],
        "the same route without auth, p99",
        None,
        "< 0.2 ms",
        added < 0.2,
    )
    record(
        "API-key auth: throughput of the same route",
        authed["rps"],
        "req/s",
        anonymous_route["rps"],
        "the same route without auth",
        kept,
        ">= 0.8x",
        kept >= 0.8,
        f"{authed['rps'] / bare['rps']:.2f}x a bare FastAPI app",
    )
    container.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000)
    asyncio.run(main(parser.parse_args().requests))
