"""Benchmark: the relay judged against the write side, in one run (issue 18).

    .venv/bin/python bench/relay_vs_writes.py [--seconds S] [--writers 1 4 8]
                                              [--lag-seconds L] [--load 0 0.2 0.5 0.8]
                                              [--poll-ms 20]

It brings up PostgreSQL, Kafka, FerretDB and OpenSearch first if they are not running.

1. the event store's maximum sustained append rate through the command side: W writer
   threads (1, 4 and 8), each registering accounts (`AccountCommands.register_user`: a
   lookup by email, then one event) on PostgreSQL for S seconds; events/s counted from the
   log's head. The best W's rate is the baseline.
2. the relay, as `aimarket relay` runs it, over those same stored events from position 0.
3. the pipeline running (relay, projection and stats workers as processes), the largest W
   writers paced at each --load of that maximum (0: idle) for L seconds: lag from commit to
   delivered by the relay and to reflected in the read models, p50/p99 (judged at 80%, and
   only if the writers reached the rate offered), and the cores each process kept busy.

Goals: the relay at least 5x the maximum append rate; lag p99 under 1 s at 80% of it.
"""

from __future__ import annotations

import argparse
import bisect
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.cpu import CpuMeter, service_pids
from bench.pipeline import caught_up, fresh_settings, frontier_of, reached_prefix, relay_rate
from bench.results import record
from commands.accounts import AccountCommands
from commands.event_store import EventStore
from domain.user import Role
from infra.bootstrap import build_container
from infra.settings import Settings
from infra.stores import open_marketplace
from tests.pipeline import running_pipeline

Committed = list[tuple[int, float]]  # (position, perf_counter at commit)
# Each look at the positions is three queries (PostgreSQL, FerretDB): every 20 ms by
# default (lags read up to 20 ms long); more often takes CPU from the very workers measured.
POLL_MS = 20
DRAIN_S = 120  # after the load stops, for the read models to catch up
SERVERS = ("postgres", "kafka", "ferretdb", "opensearch")


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


@dataclass
class Appends:
    rate: float  # events/s
    cpu_ms: float  # the whole machine's CPU per event
    writers_ms: float  # the writers' (this process's) CPU per event
    cores: float  # the whole machine's cores busy


def append_rate(app: EventStore, count: int, seconds: float) -> Appends:
    """What `count` unpaced writers append (events/s, from the log's head), and at what CPU."""
    head = app.recorder.max_notification_id() or 0
    stop, committed = threading.Event(), Committed()
    started = time.perf_counter()
    with CpuMeter({"bench": os.getpid()}) as meter:
        threads = writers(app, count, lambda: lambda: None, stop, committed)
        time.sleep(seconds)
        stop.set()
        for thread in threads:
            thread.join()
    elapsed = time.perf_counter() - started
    events = (app.recorder.max_notification_id() or 0) - head
    busy, per_event = meter.spent["machine"], 1000 / max(events, 1)
    return Appends(events / elapsed, busy * per_event, meter.spent["bench"] * per_event,
                   busy / elapsed)  # fmt: skip


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


@dataclass
class LagRun:
    """One load's lags (s) from commit to delivered by the relay and to reflected in the
    read models, the rate offered and reached, and the CPU seconds spent meanwhile."""

    load: float
    offered: float
    reached: float = 0.0
    relayed: list[float] = field(default_factory=list)
    reflected: list[float] = field(default_factory=list)
    cpu: dict[str, float] = field(default_factory=dict)
    elapsed: float = 0.0
    longest_look_s: float = 0.0  # between two readings of the positions: the bench's own stall

    def cpu_ms(self, name: str) -> float:
        return self.cpu[name] / max(len(self.reflected), 1) * 1000

    def cores(self, name: str = "machine") -> float:
        return self.cpu[name] / self.elapsed

    @property
    def judged(self) -> bool:
        """Whether the writers reached the rate offered (within 5%) to measure lag at it."""
        return self.reached >= 0.95 * self.offered


def lag_under_load(settings: Settings, app: EventStore, count: int, run: LagRun, seconds: float,
                   alive: Pace, pids: dict[str, int], poll_s: float) -> None:  # fmt: skip
    """Fill `run` from `count` writers offering `run.offered` events/s (`alive` raises if a
    pipeline process died). Writes are matched to one reading of the positions a poll, in
    position order; several writers commit out of order, so the pending writes are kept
    sorted."""
    container = build_container(settings)
    stop, committed = threading.Event(), Committed()
    unrelayed: Committed = []
    pending: Committed = []
    taken = 0
    started = now = time.perf_counter()
    with CpuMeter(pids, service_pids(*SERVERS)) as meter:
        pace = paced(run.offered / count) if count else lambda: lambda: None
        threads = writers(app, count, pace, stop, committed)
        try:
            while time.perf_counter() - started < seconds or pending or taken < len(committed):
                if time.perf_counter() - started >= seconds and not stop.is_set():
                    stop.set()
                    for thread in threads:
                        thread.join()
                alive()
                if time.perf_counter() - started > seconds + DRAIN_S:
                    raise SystemExit(f"{len(pending)} writes not in the read models {DRAIN_S} "
                                     "s after the load stopped: see the workers' logs")  # fmt: skip
                for item in committed[taken:]:
                    bisect.insort(unrelayed, item)
                    bisect.insort(pending, item)
                taken = len(committed)
                looked = now
                frontier = frontier_of(container)
                now = time.perf_counter()
                run.longest_look_s = max(run.longest_look_s, now - looked)
                sent = bisect.bisect_right(unrelayed, (frontier.delivered, float("inf")))
                run.relayed += [now - at for _, at in unrelayed[:sent]]
                del unrelayed[:sent]
                done = reached_prefix(frontier, pending)
                run.reflected += [now - at for _, at in pending[:done]]
                del pending[:done]
                time.sleep(poll_s)
        finally:
            stop.set()
            for thread in threads:
                thread.join()
            container.close()
    run.reached, run.cpu = len(committed) / seconds, meter.spent
    run.elapsed = time.perf_counter() - started


def main(seconds: float, counts: list[int], lag_seconds: float, loads: list[float],
         poll_ms: float) -> None:  # fmt: skip
    settings = fresh_settings()
    # A connection for each writer and no more: the box's PostgreSQL is shared.
    app = open_marketplace(settings, POSTGRES_POOL_SIZE=str(max(counts)), POSTGRES_MAX_OVERFLOW="0")
    register(AccountCommands(app))  # tables, connections and caches warm
    print(f"1. appends through the command side (register_user), {seconds:.0f} s each:")
    appends = {}
    for count in counts:
        appends[count] = found = append_rate(app, count, seconds)
        print(f"   {count} writer(s): {found.rate:8.0f} events/s, CPU an event {found.cpu_ms:5.2f} "
              f"ms (the writers' {found.writers_ms:5.2f}), {found.cores:4.2f} cores busy",
              flush=True)  # fmt: skip
    best = max(appends, key=lambda count: appends[count].rate)
    stored = app.recorder.max_notification_id() or 0
    relayed = relay_rate(settings)
    print(f"2. relay over the same {stored} stored events: {relayed:8.0f} events/s", flush=True)
    logs = Path(tempfile.mkdtemp(prefix="relay-vs-writes-"))
    pacers = max(counts)  # a writer behind its pace is slowed by the CPU the pipeline takes
    print(f"3. lag with the pipeline running, {pacers} writers, {lag_seconds:.0f} s a load "
          f"(the relay's and the workers' logs: {logs})", flush=True)  # fmt: skip
    runs = []
    with running_pipeline(settings, logs) as processes:

        def alive() -> None:
            if died := [name for name, p in processes.items() if p.poll() is not None]:
                raise SystemExit(f"{', '.join(died)} exited: see {logs}")

        pids = {"bench": os.getpid(), **{name: p.pid for name, p in processes.items()}}
        for load in loads:
            caught_up(settings, app)  # the backlog first: each clock starts on a quiet system
            run = LagRun(load, load * appends[best].rate)
            lag_under_load(settings, app, pacers if load else 0, run, lag_seconds, alive, pids,
                           poll_ms / 1000)  # fmt: skip
            print(f"   {load:.0%}: {summary(run)}", flush=True)
            runs.append(run)
    app.close()
    report(appends, best, relayed, runs)


def percentiles(lags: list[float]) -> tuple[float, float]:
    """p50 and p99 in ms (nan for none: the idle run)."""
    if not lags:
        return float("nan"), float("nan")
    ordered = sorted(lags)
    return statistics.median(ordered) * 1000, ordered[max(0, int(len(ordered) * 0.99) - 1)] * 1000


def summary(run: LagRun) -> str:
    relayed, reflected = percentiles(run.relayed), percentiles(run.reflected)
    return (f"{run.offered:.0f}/s offered, {run.reached:.0f}/s reached; delivered by the relay "
            f"p50 {relayed[0]:.0f} / p99 {relayed[1]:.0f} ms; in the read models p50 "
            f"{reflected[0]:.0f} / p99 {reflected[1]:.0f} ms; {run.cores():.2f} cores busy; the "
            f"longest time between two looks {run.longest_look_s * 1000:.0f} ms"
            )  # fmt: skip


def report(appends: dict[int, Appends], best: int, relayed: float, runs: list[LagRun]) -> None:
    ceiling = appends[best].rate
    ratio = relayed / ceiling
    print(f"\n{'figure':58} {'value':>12}")
    for count, found in appends.items():
        print(f"{f'append rate, {count} writer(s) on PostgreSQL':58} {found.rate:10.0f}/s")
    print(f"{'relay: the same stored events -> Kafka':58} {relayed:10.0f}/s")
    names = [name for name in runs[0].cpu if name != "machine"]
    print("\ncores busy by process (bench: the writers and this poll; rest: the machine less "
          "the processes named)")  # fmt: skip
    print(f"{'load':>5} {'offered':>7} {'reached':>7} {'relay p50':>9} {'p99':>5} {'lag p50':>7} "
          f"{'p99':>5} {' '.join(f'{n[:8]:>8}' for n in names)} {'rest':>5} {'machine':>7} "
          f"{'ms/event':>8}")  # fmt: skip
    for run in runs:
        relay, lag = percentiles(run.relayed), percentiles(run.reflected)
        rest = run.cores() - sum(run.cores(name) for name in names)
        print(f"{run.load:5.0%} {run.offered:5.0f}/s {run.reached:5.0f}/s {relay[0]:7.0f}ms "
              f"{relay[1]:3.0f}ms {lag[0]:5.0f}ms {lag[1]:3.0f}ms "
              f"{' '.join(f'{run.cores(n):8.2f}' for n in names)} {rest:5.2f} "
              f"{run.cores():7.2f} {run.cpu_ms('machine') if run.reflected else 0:8.2f}"
              )  # fmt: skip
    judged = next((run for run in runs if run.load == 0.8), runs[-1])
    p50, p99 = percentiles(judged.reflected)
    met = judged.judged and p99 < 1000
    verdict = ("met" if met else "NOT met") if judged.judged else (
        f"not judged: {judged.reached:.0f} of {judged.offered:.0f}/s reached")  # fmt: skip
    print(f"\nat {judged.reached:.0f} events/s {judged.cores():.2f} of the machine's "
          f"{psutil.cpu_count()} cores were busy")  # fmt: skip
    print(f"relay {ratio:.1f}x the maximum append rate (goal >= 5x: "
          f"{'met' if ratio >= 5 else 'NOT met'}); lag p99 {p99:.0f} ms at {judged.load:.0%} "
          f"(goal < 1000 ms: {verdict})")  # fmt: skip
    record(
        "relay vs the maximum append rate",
        relayed,
        "events/s",
        ceiling,
        f"max sustained append rate, {best} writers on PostgreSQL",
        ratio,
        ">= 5x",
        ratio >= 5,
        ", ".join(f"{c} writer(s) {a.rate:.0f}/s" for c, a in appends.items()),
    )
    record(
        f"projection lag p99 at {judged.load:.0%} of the maximum append rate",
        p99,
        "ms",
        None,
        "(absolute goal)",
        None,
        "< 1000 ms",
        met if judged.judged else None,
        f"p50 {p50:.0f} ms; {judged.offered:.0f}/s offered, {judged.reached:.0f}/s reached; "
        f"{judged.cores():.2f} cores busy",
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10, help="for each writer count")
    parser.add_argument("--writers", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--lag-seconds", type=float, default=20)
    parser.add_argument("--load", type=float, nargs="+", default=[0, 0.2, 0.5, 0.8],
                        help="fractions of the maximum append rate (0: idle)")  # fmt: skip
    parser.add_argument("--poll-ms", type=float, default=POLL_MS,
                        help="how often the positions are read")  # fmt: skip
    args = parser.parse_args()
    main(args.seconds, args.writers, args.lag_seconds, args.load, args.poll_ms)
