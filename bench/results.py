"""The one result format of the benchmarks: each figure a script judges against a goal,
recorded beside its same-run baseline in a JSON file of the run, var/bench/<run>.json.

`make bench` sets AIMARKET_BENCH_RUN so every script of one run writes to one file; a
script run by hand writes to a file of its own. bench/table.py renders a run's file."""

from __future__ import annotations

import datetime
import json
import os
import platform
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")


@dataclass(frozen=True)
class Figure:
    """One judged figure. `ratio` is ours against the baseline as the goal states it
    (ours / baseline unless the goal says otherwise); None where no baseline exists."""

    name: str
    ours: float
    unit: str
    baseline: float | None
    baseline_name: str
    ratio: float | None
    goal: str
    met: bool | None  # None: shown, not judged
    notes: str = ""
    script: str = field(default_factory=lambda: Path(sys.argv[0]).stem)
    measured: str = field(default_factory=_now)
    load: float | None = field(default_factory=lambda: os.getloadavg()[0])  # 1-minute


def machine() -> str:
    """CPU model, cores and memory, read from /proc (as the table prints them)."""
    model = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory = ""
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        total_kib = int(meminfo.read_text().split("MemTotal:", 1)[1].split()[0])
        memory = f", {total_kib / 2**20:.0f} GiB"
    return f"{model}, {os.cpu_count()} cores{memory}, {platform.python_implementation()} " \
        f"{platform.python_version()}"  # fmt: skip


def results_dir() -> Path:
    return Path(os.environ.get("AIMARKET_BENCH_DIR", ROOT / "var" / "bench"))


def run_file() -> Path:
    """This run's file: AIMARKET_BENCH_RUN's, else one of this process's own."""
    run = os.environ.get("AIMARKET_BENCH_RUN")
    if not run:
        stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
        run = os.environ["AIMARKET_BENCH_RUN"] = f"{stamp}-{Path(sys.argv[0]).stem}"
    return results_dir() / f"{run}.json"


def load_run(path: Path) -> dict[str, Any]:
    if path.exists():
        loaded: dict[str, Any] = json.loads(path.read_text())
        return loaded
    return {"run": path.stem, "machine": machine(), "figures": []}


def record(
    name: str,
    ours: float,
    unit: str,
    baseline: float | None,
    baseline_name: str,
    ratio: float | None,
    goal: str,
    met: bool | None,
    notes: str = "",
) -> Figure:
    """Add a figure to this run's file (made, with its folder, if need be); a figure of
    the same name recorded earlier in the run is replaced."""
    figure = Figure(name, ours, unit, baseline, baseline_name, ratio, goal, met, notes)
    path = run_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    run = load_run(path)
    run["figures"] = [f for f in run["figures"] if f["name"] != name] + [asdict(figure)]
    scratch = path.with_suffix(".tmp")
    scratch.write_text(json.dumps(run, indent=1) + "\n")
    scratch.replace(path)  # a reader never sees half a file
    return figure
