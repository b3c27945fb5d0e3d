"""A load run's figures: printed per endpoint, the goal judged, and written into
docs/BENCHMARKS.md as its "Load (make load)" section (replaced on each run)."""

from __future__ import annotations

import os
import platform
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.load.routes import CATALOGUE_ROUTES, INFERENCE_ROUTES

HEADING = "## Load (make load)"
RATIO = 3.0  # loaded p99 at most this times the unloaded p99
ABOUT = """\
Written by `make load` (bench/load/; LOAD_USERS, LOAD_SECONDS and the other settings in
bench/load/__main__.py's docstring), replaced on each run. Users, weighted: visitors
(10: browse, search with facets, model pages), consumers (8: call a free model on Triton,
call a paid one, buy a model outright with an Idempotency-Key, pages, search), publishers
(1: create a model and upload a small ONNX version; not published, since each publish
loads a model into Triton). Think time 0.5-2 s. The only deliberate 4xx is 402
`payment_required` from a paid model called before the caller's purchase of it completed;
rate limits are set too wide to refuse (no 429 expected). The catalogue's models are
published before the deployer starts, so only the models called are on Triton. Payments:
the simulated provider (stripe-mock declines every charge, so no purchase would complete)."""


def machine() -> str:
    cpus = Path("/proc/cpuinfo").read_text().splitlines()
    cpu = next((line.split(":", 1)[1].strip() for line in cpus if line.startswith("model name")),
               platform.processor() or "unknown CPU")  # fmt: skip
    memory = Path("/proc/meminfo").read_text().splitlines()
    kib = next(int(line.split()[1]) for line in memory if line.startswith("MemTotal"))
    return f"{cpu}, {os.cpu_count()} cores, {kib / 2**20:.0f} GiB"


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def endpoint_table(loaded: dict[str, Any], seconds: float) -> list[str]:
    rows = ["| endpoint | requests | req/s | p50 ms | p95 ms | p99 ms | errors | deliberate 4xx |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]  # fmt: skip
    for name, r in loaded.items():
        rows.append(f"| `{name}` | {r['count']} | {r['per_s']:.1f} | {r['p50_ms']:.1f} | "
                    f"{r['p95_ms']:.1f} | {r['p99_ms']:.1f} | {r['failures']} | "
                    f"{r['expected_4xx']} |")  # fmt: skip
    total = sum(r["count"] for r in loaded.values())
    errors = sum(r["failures"] for r in loaded.values())
    rows.append(f"| all | {total} | {total / seconds:.1f} | | | | {errors} "
                f"({errors / max(total, 1):.2%}) | |")  # fmt: skip
    return rows


def goal_table(result: dict[str, Any]) -> tuple[list[str], bool]:
    """Per catalogue and inference route: loaded p99 against its unloaded p99."""
    rows = ["| route | p99 loaded ms (ours) | p99 unloaded ms (baseline) | ratio | goal | met |",
            "| --- | ---: | ---: | ---: | --- | --- |"]  # fmt: skip
    all_met = True
    for name in (*CATALOGUE_ROUTES, *INFERENCE_ROUTES):
        ours, base = result["loaded"].get(name), result["unloaded"].get(name)
        if ours is None or base is None:
            rows.append(f"| `{name}` | | | | <= {RATIO:.0f}x | no figure |")
            all_met = False
            continue
        ratio = ours["p99_ms"] / base["p99_ms"]
        met = ratio <= RATIO
        all_met &= met
        rows.append(f"| `{name}` | {ours['p99_ms']:.1f} | {base['p99_ms']:.1f} | {ratio:.2f}x "
                    f"| <= {RATIO:.0f}x | {'met' if met else 'NOT met'} |")  # fmt: skip
    return rows, all_met


def errors(result: dict[str, Any]) -> int:
    return sum(r["failures"] for phase in ("unloaded", "loaded") for r in result[phase].values())


def first_failures(result: dict[str, Any]) -> list[str]:
    return [f"{name}: {why}" for phase in ("unloaded", "loaded")
            for name, r in result[phase].items() for why in r["first_failures"]][:5]  # fmt: skip


def cpu_line(result: dict[str, Any]) -> str:
    """How busy the machine's cores were under the load: a latency goal needs headroom."""
    cpu, seconds = result["cpu"], result["seconds"]
    requests = sum(route["count"] for route in result["loaded"].values())
    busy = cpu["machine_s"] / (cpu["cores"] * seconds)
    ours = (cpu["machine_s"] - cpu["locust_s"]) / max(1, requests)
    return (
        f"- CPU under the load: the machine's {cpu['cores']:.0f} cores {busy:.0%} busy "
        f"(locust itself {cpu['locust_s'] / seconds:.2f} of a core); the marketplace and "
        f"its services spent {ours * 1000:.1f} ms of CPU a request, so "
        f"{requests / seconds:.1f} requests/s took {ours * requests / seconds:.2f} cores."
    )


def section(result: dict[str, Any], setup: str, judged: bool) -> str:
    """The whole printed report, also the docs section."""
    goal_rows, latency_met = goal_table(result)
    count = errors(result)
    lines = [HEADING, "",
             f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; machine: {machine()}; load average "
             f"at the start {result.get('load_before', '?')}, at the end {load_average()}.",
             "", setup, "", ABOUT, "",
             f"{result['users']} users for {result['seconds']:.0f} s (after all had started):",
             "", *endpoint_table(result["loaded"], result["seconds"]), "",
             "Unloaded p99: one user alone, no think time, before the load, same run.", "",
             *goal_rows, "",
             cpu_line(result),
             f"- Errors other than deliberate 4xx: {count} (goal: none): "
             f"{'met' if count == 0 else 'NOT met'}."]  # fmt: skip
    lines += [f"  - {failure}" for failure in first_failures(result)]
    if judged:
        met = latency_met and count == 0
        lines.append(f"- Goal (p99 within {RATIO:.0f}x unloaded on every catalogue and inference "
                     f"route, no errors): {'met' if met else 'NOT met'}.")  # fmt: skip
    return "\n".join(lines) + "\n"


def write_docs(docs: Path, text: str) -> None:
    """`text` in place of the section (from its heading to the next `## `), else appended."""
    old = docs.read_text()
    start = old.find(f"\n{HEADING}\n")
    if start < 0:
        docs.write_text(old.rstrip("\n") + "\n\n" + text)
        return
    end = old.find("\n## ", start + 1)
    docs.write_text(old[: start + 1] + text + (old[end:] if end >= 0 else ""))
