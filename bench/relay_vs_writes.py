"""Benchmark: the relay judged against the write side, in one run (issue 18).

    .venv/bin/python bench/relay_vs_writes.py [--seconds S] [--writers 1 4 8]
                                              [--lag-seconds L] [--load 0.8]

It brings up PostgreSQL, Kafka, FerretDB and OpenSearch first if they are not running.

1. the event store's maximum sustained append rate through the command side: W writer
   threads (1, 4 and 8), each registering accounts (`AccountCommands.register_user`: a
   lookup by email, then one event) on PostgreSQL for S seconds; events/s counted from the
   log's head. The best W's rate is the baseline.
2. the relay, as `aimarket relay` runs it, over those same stored events from position 0.
3. the pipeline running (relay, projection and stats workers as processes), the best W's
   writers paced at 80% of that maximum for L seconds: lag from commit to reflected in the
   read models, p50/p99.

Goals: the relay at least 5x the maximum append rate; lag p99 under 1 s at 80% of it.
"""

from __future__ import annotations

import argparse
import bisect
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.pipeline import caught_up, fresh_settings, reached_prefix, relay_rate
from bench.results import record
from commands.accounts import AccountCommands
from commands.event_store import EventStore
from domain.user import Role
from infra.bootstrap import build_container
from infra.settings import Settings
from infra.stores import open_marketplace
from tests.pipeline import running_pipeline

Committed = list[tuple[int, float]]  # (position, perf_counter at commit)
# Each look at the read models' progress is a few PostgreSQL and FerretDB reads per probe
# of a binary search: every 20 ms (lags read up to 20 ms long) rather than pipeline.py's
# 5 ms, which on two shared cores takes CPU from the very workers it measures.
POLL_S = 0.02
DRAIN_S = 120  # after the load stops, for the read models to catch up


def register(accounts: AccountCommands) -> tuple[int, float]:
    written = accounts.register_user(f"{uuid.uuid4().hex[:16]}@e.com", "$x", Role.CONSUMER)
    return written.position, time.perf_counter()


Pace = Callable[[], None]  # called by a writer after each command: sleeps to its next slot


def writers(app: EventStore, count: int, make_pace: Callable[[], Pace], stop: threading.Event,
            committed: Committed) -> list[threading.Thread]:  # fmt: skip
    """`count` threads registering accounts until `stop`, each with a pace of its own."""

    def write() -> None:
        accounts, pace = AccountCommands(app), make_pace()
        while not stop.is_set():
            committed.append(register(accounts))
            pace()

    threads = [threading.Thread(target=write) for _ in range(count)]
    for thread in threads:
        thread.start()
    return threads


def append_rate(app: EventStore, count: int, seconds: float) -> float:
    """Events/s that `count` unpaced writers append, from the log's head."""
    head = app.recorder.max_notification_id() or 0
    stop, committed = threading.Event(), Committed()
    started = time.perf_counter()
    threads = writers(app, count, lambda: lambda: None, stop, committed)
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    return ((app.recorder.max_notification_id() or 0) - head) / elapsed


def paced(rate_per_writer: float) -> Callable[[], Pace]:
    """Paces for writers of `rate_per_writer` each (a writer behind catches up at once)."""
    interval = 1 / rate_per_writer

    def make_pace() -> Pace:
        state = {"next": time.perf_counter()}

        def pace() -> None:
            state["next"] += interval
            time.sleep(max(0.0, state["next"] - time.perf_counter()))

        return pace

    return make_pace


def lag_under_load(settings: Settings, app: EventStore, count: int, rate: float,
                   seconds: float, alive: Pace) -> tuple[list[float], float]:  # fmt: skip
    """Lags (s) of each write at `rate` events/s from `count` writers, and the rate reached
    (`alive` raises if a pipeline process died). Writes are matched to the read models'
    progress in position order; several writers commit out of order, so the pending writes
    are kept sorted."""
    container = build_container(settings)
    stop, committed = threading.Event(), Committed()
    pending: Committed = []
    lags: list[float] = []
    taken = 0
    started = time.perf_counter()
    threads = writers(app, count, paced(rate / count), stop, committed)
    try:
        while time.perf_counter() - started < seconds or pending or taken < len(committed):
            if time.perf_counter() - started >= seconds and not stop.is_set():
                stop.set()
                for thread in threads:
                    thread.join()
            alive()
            if time.perf_counter() - started > seconds + DRAIN_S:
                raise SystemExit(f"{len(pending)} writes not in the read models {DRAIN_S} s "
                                 "after the load stopped: see the workers' logs")  # fmt: skip
            for item in committed[taken:]:
                bisect.insort(pending, item)
            taken = len(committed)
            done, now = reached_prefix(container.read.progress, pending), time.perf_counter()
            lags += [now - at for _, at in pending[:done]]
            del pending[:done]
            time.sleep(POLL_S)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
        container.close()
    return lags, len(committed) / seconds


def main(seconds: float, counts: list[int], lag_seconds: float, load: float) -> None:
    settings = fresh_settings()
    # A connection for each writer and no more: the box's PostgreSQL is shared.
    app = open_marketplace(settings, POSTGRES_POOL_SIZE=str(max(counts)), POSTGRES_MAX_OVERFLOW="0")
    register(AccountCommands(app))  # tables, connections and caches warm
    print(f"1. appends through the command side (register_user), {seconds:.0f} s each:")
    rates = {}
    for count in counts:
        rates[count] = append_rate(app, count, seconds)
        print(f"   {count} writer(s): {rates[count]:8.0f} events/s", flush=True)
    best = max(rates, key=rates.__getitem__)
    stored = app.recorder.max_notification_id() or 0
    relayed = relay_rate(settings)
    print(f"2. relay over the same {stored} stored events: {relayed:8.0f} events/s", flush=True)
    target = load * rates[best]
    print(f"3. lag at {target:.0f} events/s ({load:.0%} of the maximum), {best} writers, "
          f"{lag_seconds:.0f} s, pipeline running ...", flush=True)  # fmt: skip
    logs = Path(tempfile.mkdtemp(prefix="relay-vs-writes-"))
    print(f"   (the relay's and the workers' logs: {logs})", flush=True)
    with running_pipeline(settings, logs) as processes:

        def alive() -> None:
            if died := [name for name, p in processes.items() if p.poll() is not None]:
                raise SystemExit(f"{', '.join(died)} exited: see {logs}")

        caught_up(settings, app)  # the backlog of 1 first: the clock starts on a quiet system
        lags, reached = lag_under_load(settings, app, best, target, lag_seconds, alive)
    app.close()
    report(rates, best, relayed, sorted(lags), target, reached, load)


def report(rates: dict[int, float], best: int, relayed: float, lags: list[float],
           target: float, reached: float, load: float) -> None:  # fmt: skip
    ceiling = rates[best]
    p50, p99 = statistics.median(lags) * 1000, lags[max(0, int(len(lags) * 0.99) - 1)] * 1000
    ratio = relayed / ceiling
    print(f"\n{'figure':58} {'value':>12}")
    for count, rate in rates.items():
        print(f"{f'append rate, {count} writer(s) on PostgreSQL':58} {rate:10.0f}/s")
    print(f"{'relay: the same stored events -> Kafka':58} {relayed:10.0f}/s")
    print(f"{f'projection lag at {target:.0f}/s offered ({reached:.0f}/s reached), p50':58} "
          f"{p50:10.0f}ms")  # fmt: skip
    print(f"{'projection lag, p99':58} {p99:10.0f}ms")
    print(f"relay {ratio:.1f}x the maximum append rate (goal >= 5x: "
          f"{'met' if ratio >= 5 else 'NOT met'}); lag p99 {p99:.0f} ms at {load:.0%} "
          f"(goal < 1000 ms: {'met' if p99 < 1000 else 'NOT met'})")  # fmt: skip
    record(
        "relay vs the maximum append rate",
        relayed,
        "events/s",
        ceiling,
        f"max sustained append rate, {best} writers on PostgreSQL",
        ratio,
        ">= 5x",
        ratio >= 5,
        ", ".join(f"{c} writer(s) {r:.0f}/s" for c, r in rates.items()),
    )
    record(
        f"projection lag p99 at {load:.0%} of the maximum append rate",
        p99,
        "ms",
        None,
        "(absolute goal)",
        None,
        "< 1000 ms",
        p99 < 1000,
        f"p50 {p50:.0f} ms; {target:.0f}/s offered, {reached:.0f}/s reached",
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10, help="for each writer count")
    parser.add_argument("--writers", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--lag-seconds", type=float, default=20)
    parser.add_argument("--load", type=float, default=0.8, help="of the maximum append rate")
    args = parser.parse_args()
    main(args.seconds, args.writers, args.lag_seconds, args.load)
