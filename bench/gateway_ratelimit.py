"""Benchmark: the gateway's rate-limit check on Redis, beside a bare Redis PING in the
same run (goal: the check's p99 under 1 ms).

    .venv/bin/python bench/gateway_ratelimit.py [--checks N]

The check is the middleware's: one EVALSHA taking two buckets (an API key's and its
user's) through infra/ratelimit_redis.py. Checks and PINGs alternate on one connection,
so both see the same load on the machine. Redis's own time per call (INFO commandstats)
is printed too: on a loaded machine the client's percentiles are mostly scheduling.
Redis: AIMARKET_REDIS_URL, else the local services (`aimarket services`).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import redis

from bench.results import record
from commands.rate_limits import BucketSpec, Limit
from infra.clock import SystemClock
from infra.ratelimit_redis import RedisTokenBuckets
from infra.services.manager import ServiceManager

GOAL_P99_MS = 1.0


def redis_url() -> str:
    if url := os.environ.get("AIMARKET_REDIS_URL"):
        return url
    manager = ServiceManager()
    if manager.up(["redis"]):
        raise SystemExit("Redis did not come up: see the messages above")
    env = dict(line.removeprefix("export ").split("=", 1) for line in manager.env_lines(["redis"]))
    return env["AIMARKET_REDIS_URL"]


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1e3


def run(checks: int) -> None:
    client = redis.Redis.from_url(redis_url(), socket_timeout=1.0)
    buckets = RedisTokenBuckets(client, SystemClock(), f"bench_{uuid.uuid4().hex[:8]}:")
    spec = BucketSpec(10**9, 10**6)  # never empty: every check is the allowed path
    limits = [Limit("reads:key:bench", spec), Limit("reads:user:bench", spec)]
    for _ in range(500):  # warm: the script loaded, the connection open
        buckets.take_all(limits)
        client.ping()
    check_s, ping_s = [], []
    before = server_usec(client)
    for _ in range(checks):
        t0 = time.perf_counter()
        buckets.take_all(limits)
        t1 = time.perf_counter()
        client.ping()
        t2 = time.perf_counter()
        check_s.append(t1 - t0)
        ping_s.append(t2 - t1)
    server = {name: (after - before[name]) / checks for name, after in server_usec(client).items()}
    report(checks, check_s, ping_s, server)


def server_usec(client: redis.Redis) -> dict[str, float]:
    """Redis's own time in EVALSHA and PING so far (microseconds): the server side of each
    round trip, which no load on the client's machine can stretch."""
    stats = client.info("commandstats")
    return {
        name: float(stats.get(f"cmdstat_{name}", {}).get("usec", 0)) for name in ("evalsha", "ping")
    }


def report(
    checks: int, check_s: list[float], ping_s: list[float], server: dict[str, float]
) -> None:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"aimarket gateway rate-limit benchmark: {checks} checks and PINGs, one connection")
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, load {load:.2f}")
    print(f"{'figure':<40} {'p50 ms':>8} {'p99 ms':>8}")
    figures = {"Redis PING (baseline)": ping_s, "rate-limit check, 2 buckets": check_s}
    for name, samples in figures.items():
        print(f"{name:<40} {percentile(samples, 0.5):>8.3f} {percentile(samples, 0.99):>8.3f}")
    print(
        f"inside Redis, per call: the script {server['evalsha']:.1f} us, "
        f"PING {server['ping']:.1f} us (shared server: others' calls included)"
    )
    p99, ping_p99 = percentile(check_s, 0.99), percentile(ping_s, 0.99)
    ratio = statistics.median(check_s) / statistics.median(ping_s)
    met = "met" if p99 < GOAL_P99_MS else "NOT met"
    print(
        f"the check costs {ratio:.2f}x a PING at p50 and {p99 / ping_p99:.2f}x at p99; "
        f"p99 {p99:.3f} ms (goal < {GOAL_P99_MS:.0f} ms): {met}"
    )
    record(
        "rate-limit check on Redis, p99",
        p99,
        "ms",
        ping_p99,
        "Redis PING, p99",
        p99 / ping_p99,
        f"< {GOAL_P99_MS:.0f} ms",
        p99 < GOAL_P99_MS,
        f"load average {load:.2f}",
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checks", type=int, default=20_000)
    run(parser.parse_args().checks)
