"""CPU time a benchmark's run costs: by each process of ours, and by the whole machine
(the services' processes included). A throughput goal needs its rate times the whole
machine's CPU per unit of work, whatever the concurrency: if that is more cores than the
machine has, no scheduling of the work can meet it here."""

from __future__ import annotations

import contextlib
from types import TracebackType

import psutil

from infra.services.manager import default_context
from infra.services.process import read_pid

BUSY = ("user", "nice", "system", "irq", "softirq")  # not idle, iowait or steal


def machine_busy_s() -> float:
    times = psutil.cpu_times()
    return sum(getattr(times, name, 0.0) for name in BUSY)


def process_s(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


def tree_s(pid: int) -> float:
    """A server's CPU: its own, its live descendants' and its reaped children's (PostgreSQL's
    backends come and go)."""
    root = psutil.Process(pid)
    times = root.cpu_times()
    total = times.user + times.system + times.children_user + times.children_system
    for child in root.children(recursive=True):
        # One that ends between the listing and the reading is counted by its parent later.
        with contextlib.suppress(psutil.NoSuchProcess):
            total += process_s(child.pid)
    return float(total)


def service_pids(*names: str) -> dict[str, int]:
    """The main pids of those of `names` that `aimarket services` runs."""
    ctx = default_context()
    found = {name: read_pid(ctx.pid_file(name)) for name in names}
    return {name: pid for name, pid in found.items() if pid is not None}


class CpuMeter:
    """`with CpuMeter({"api": pid, ...}, {"postgres": pid}) as meter:` ...; then
    `meter.spent` holds each process's CPU seconds over the block (each server's with its
    children, `tree_s`), and "machine" the whole machine's."""

    def __init__(self, pids: dict[str, int], servers: dict[str, int] | None = None) -> None:
        self.pids, self.servers, self.spent = pids, servers or {}, dict[str, float]()
        self._start: dict[str, float] = {}

    def _now(self) -> dict[str, float]:
        return {
            "machine": machine_busy_s(),
            **{name: process_s(pid) for name, pid in self.pids.items()},
            **{name: tree_s(pid) for name, pid in self.servers.items()},
        }

    def __enter__(self) -> CpuMeter:
        self._start = self._now()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:  # fmt: skip
        end = self._now()
        self.spent = {name: end[name] - self._start[name] for name in end}
