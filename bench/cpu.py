"""CPU time a benchmark's run costs: by each process of ours, and by the whole machine
(the services' processes included). A throughput goal needs its rate times the whole
machine's CPU per unit of work, whatever the concurrency: if that is more cores than the
machine has, no scheduling of the work can meet it here."""

from __future__ import annotations

from types import TracebackType

import psutil

BUSY = ("user", "nice", "system", "irq", "softirq")  # not idle, iowait or steal


def machine_busy_s() -> float:
    times = psutil.cpu_times()
    return sum(getattr(times, name, 0.0) for name in BUSY)


def process_s(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


class CpuMeter:
    """`with CpuMeter({"api": pid, ...}) as meter:` ...; then `meter.spent` holds each
    process's CPU seconds over the block, and "machine" the whole machine's."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids, self.spent = pids, dict[str, float]()
        self._start: dict[str, float] = {}

    def _now(self) -> dict[str, float]:
        return {"machine": machine_busy_s(), **{n: process_s(p) for n, p in self.pids.items()}}

    def __enter__(self) -> CpuMeter:
        self._start = self._now()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:  # fmt: skip
        end = self._now()
        self.spent = {name: end[name] - self._start[name] for name in end}
