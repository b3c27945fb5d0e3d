"""The locust side of a load run, in a process of its own (locust patches the standard
library with gevent on import):

    python -m bench.load.swarm SEED.json OUT.json --users N --seconds S --unloaded-seconds U

First one user alone (the routes' unloaded figures), then N users of the marketplace's
shape for S seconds once all are started. Each request's time is kept (no histogram
rounding); OUT.json gets each phase's figures per route."""

from __future__ import annotations

import argparse
import json
import math
import os
from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import gevent
from locust import User
from locust.env import Environment

from bench.cpu import CpuMeter
from bench.load import users


class Recorder:
    """Every request of a phase: its time, and whether it failed (and how)."""

    def __init__(self) -> None:
        self.times: dict[str, list[float]] = defaultdict(list)
        self.failures: dict[str, list[str]] = defaultdict(list)

    def __call__(self, name: str, response_time: float, exception: Any, **_: Any) -> None:
        self.times[name].append(response_time)
        if exception is not None:
            self.failures[name].append(str(exception)[:200])

    def clear(self) -> None:
        self.times.clear()
        self.failures.clear()
        users.EXPECTED.clear()


@dataclass
class Route:
    count: int
    failures: int
    expected_4xx: int
    per_s: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    first_failures: list[str]


def percentile(ordered: list[float], fraction: float) -> float:
    """Nearest rank: the smallest time that at least `fraction` of requests took."""
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def figures(recorder: Recorder, seconds: float) -> dict[str, dict[str, Any]]:
    out = {}
    for name, times in sorted(recorder.times.items()):
        ordered, failed = sorted(times), recorder.failures.get(name, [])
        expected = sum(users.EXPECTED.get(name, {}).values())
        out[name] = asdict(Route(len(times), len(failed), expected, len(times) / seconds,
                                 *(percentile(ordered, f) for f in (0.5, 0.95, 0.99)),
                                 failed[:3]))  # fmt: skip
    return out


def swarm(classes: list[type[User]], count: int, seconds: float,
          host: str) -> tuple[dict[str, Any], dict[str, float]]:  # fmt: skip
    """`count` users of `classes` for `seconds` after all have started: the figures, and
    the CPU seconds the whole machine and locust itself spent in those seconds."""
    environment = Environment(user_classes=classes, host=host)
    recorder = Recorder()
    environment.events.request.add_listener(recorder)
    runner = environment.create_local_runner()
    spawn_rate = 20.0
    runner.start(count, spawn_rate=spawn_rate)
    gevent.sleep(count / spawn_rate + 1)  # all started and past their first requests
    recorder.clear()
    with CpuMeter({"locust": os.getpid()}) as meter:
        gevent.sleep(seconds)
    cpu = {"machine_s": meter.spent["machine"], "locust_s": meter.spent["locust"],
           "cores": float(os.cpu_count() or 1)}  # fmt: skip
    result = figures(recorder, seconds)
    runner.quit()
    return result, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("seed", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=180)
    parser.add_argument("--unloaded-seconds", type=float, default=30)
    args = parser.parse_args()
    users.SEED.update(json.loads(args.seed.read_text()))
    users.MODEL_BYTES = Path(users.SEED["model_file"]).read_bytes()
    host = users.SEED["base_url"]
    unloaded, _ = swarm([users.Unloaded], 1, args.unloaded_seconds, host)
    loaded, cpu = swarm([users.Visitor, users.Consumer, users.Publisher], args.users,
                        args.seconds, host)  # fmt: skip
    args.out.write_text(json.dumps({"unloaded": unloaded, "loaded": loaded, "cpu": cpu,
                                    "users": args.users, "seconds": args.seconds}))  # fmt: skip


if __name__ == "__main__":
    main()
