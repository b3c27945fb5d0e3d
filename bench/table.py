"""Regenerate the one benchmark table at the top of docs/BENCHMARKS.md.

    .venv/bin/python bench/table.py [--run var/bench/<run>.json] [--doc docs/BENCHMARKS.md]

The table is every figure of the run (bench/results.py's format), with the 1-minute load
average when it was recorded (the box is shared), and, for a figure the run did not
measure, its last recorded value from bench/table_seed.json, with its own date
(`--into-seed` puts the run's figures there, for a run worth committing). Only the text
between the markers is replaced; the rest of the file is left as it is.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.results import ROOT, results_dir

START, END = "<!-- bench-table:start -->", "<!-- bench-table:end -->"
SEED = Path(__file__).with_name("table_seed.json")
HEADER = (
    "| figure | ours | baseline (same run) | ratio | goal | met | measured | notes |\n"
    "| --- | ---: | --- | ---: | --- | --- | --- | --- |"
)


def number(value: float) -> str:
    """Three or more significant digits, thousands separated."""
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}" if abs(value) >= 1 else f"{value:.3g}"


def figures_of(run: dict[str, Any]) -> list[dict[str, Any]]:
    """The run's figures, each with its machine (a seed may name one per figure)."""
    return [{"machine": run["machine"], **figure} for figure in run["figures"]]


def merged(seed: dict[str, Any], run: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The seed's figures in their order, each replaced by the run's figure of that name;
    the run's new figures after them."""
    fresh = {f["name"]: f for f in figures_of(run)} if run else {}
    rows = [fresh.pop(f["name"], f) for f in figures_of(seed)]
    return rows + list(fresh.values())


def row(figure: dict[str, Any], machines: list[str]) -> str:
    baseline = figure["baseline"]
    against = figure["baseline_name"]
    if baseline is not None:
        against = f"{number(baseline)} {figure['unit']}, {against}"
    ratio = "" if figure["ratio"] is None else f"{number(figure['ratio'])}x"
    met = {True: "**yes**", False: "no", None: "(not judged)"}[figure["met"]]
    if figure["machine"] not in machines:
        machines.append(figure["machine"])
    where = f"{figure['measured']}, M{machines.index(figure['machine']) + 1}"
    if figure.get("load") is not None:
        where += f", load {figure['load']:.1f}"
    cells = [figure["name"], f"{number(figure['ours'])} {figure['unit']}", against, ratio,
             figure["goal"], met, where, figure.get("notes", "")]  # fmt: skip
    return "| " + " | ".join(cell.replace("|", "/") for cell in cells) + " |"


def render(rows: list[dict[str, Any]], source: str) -> str:
    machines: list[str] = []
    lines = [row(figure, machines) for figure in rows]
    legend = "; ".join(f"M{n}: {machine}" for n, machine in enumerate(machines, 1))
    return "\n".join(
        [START, f"<!-- made by bench/table.py from {source}: edit those, not this -->", "",
         HEADER, *lines, "", f"Machines: {legend}.", END]
    )  # fmt: skip


def replace_table(text: str, table: str) -> str:
    """`text` with what lies between the markers (the markers included) replaced."""
    start, end = text.find(START), text.find(END)
    if start < 0 or end < start:
        raise ValueError(f"the markers {START} and {END} are missing or out of order")
    return text[:start] + table + text[end + len(END) :]


def latest_run() -> Path | None:
    runs = sorted(results_dir().glob("*.json"), key=lambda p: p.stat().st_mtime)
    return runs[-1] if runs else None


def write_table(
    doc: Path, run_path: Path | None, seed_path: Path = SEED, into_seed: bool = False
) -> None:
    """The table from the run and the seed; `into_seed`: the seed takes the run's figures
    (to commit after a run worth keeping)."""
    seed = json.loads(seed_path.read_text())
    run = json.loads(run_path.read_text()) if run_path else None
    source = f"{run_path.name} and {seed_path.name}" if run_path else seed_path.name
    rows = merged(seed, run)
    doc.write_text(replace_table(doc.read_text(), render(rows, source)))
    if into_seed and run:
        seed["figures"] = [{k: v for k, v in row.items() if k != "script"} for row in rows]
        seed_path.write_text(json.dumps(seed, indent=1) + "\n")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--run", type=Path, help="a run's file (default: the newest)")
    parser.add_argument("--seed-only", action="store_true", help="the seed's figures only")
    parser.add_argument("--doc", type=Path, default=ROOT / "docs" / "BENCHMARKS.md")
    parser.add_argument("--into-seed", action="store_true", help="the seed keeps the run's")
    args = parser.parse_args()
    run = None if args.seed_only else (args.run or latest_run())
    if run and not run.exists():
        print(f"{run} does not exist (no script recorded a figure): the seed's figures only")
        run = None
    write_table(args.doc, run, into_seed=args.into_seed)
    print(f"{args.doc}: table from {run or 'the seed'}")
