"""The benchmark table's writer (bench/table.py) and the result file it reads
(bench/results.py): only the text between the markers changes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.results import record, run_file
from bench.table import END, START, write_table

BEFORE = "# Benchmarks\n\nIntro, with a | pipe and <!-- a comment -->.\n\n"
AFTER = "\n\n## bench/auth.py\n\nThe sections, untouched.\n"


def seed(tmp_path: Path) -> Path:
    figure = {"name": "relay vs the maximum append rate", "ours": 1.0, "unit": "events/s",
              "baseline": 1.0, "baseline_name": "appends", "ratio": 1.0, "goal": ">= 5x",
              "met": False, "notes": "", "measured": "2026-11-26"}  # fmt: skip
    old = {**figure, "name": "an older figure", "ours": 376.0, "unit": "ms", "met": True}
    path = tmp_path / "seed.json"
    path.write_text(json.dumps({"machine": "the old box", "figures": [figure, old]}))
    return path


@pytest.fixture
def a_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AIMARKET_BENCH_DIR", str(tmp_path / "var" / "bench"))  # not made yet
    monkeypatch.setenv("AIMARKET_BENCH_RUN", "run1")
    record("relay vs the maximum append rate", 9000.0, "events/s", 1000.0,
           "max append rate, 4 writers", 9.0, ">= 5x", True, "relay | notes")  # fmt: skip
    return run_file()


def test_the_table_replaces_only_what_lies_between_the_markers(tmp_path: Path, a_run: Path) -> None:
    doc = tmp_path / "BENCHMARKS.md"
    doc.write_text(f"{BEFORE}{START}\n| stale | table |\n{END}{AFTER}")
    write_table(doc, a_run, seed(tmp_path))
    text = doc.read_text()
    assert text.startswith(BEFORE + START) and text.endswith(END + AFTER)
    assert text.count(START) == 1 and text.count(END) == 1
    table = text[len(BEFORE) : -len(AFTER)]
    assert "stale" not in table
    assert "| relay vs the maximum append rate | 9,000 events/s | 1,000 events/s, max " in table
    assert "| 9.00x | >= 5x | **yes** |" in table and "relay / notes" in table
    assert ", M1, load " in table
    assert "| an older figure | 376 ms |" in table and "2026-11-26, M2" in table  # seed's date
    assert "M2: the old box" in table
    write_table(doc, a_run, seed(tmp_path))
    assert doc.read_text() == text  # the same run, the same file


def test_a_file_without_the_markers_is_refused_and_left_alone(tmp_path: Path, a_run: Path) -> None:
    doc = tmp_path / "BENCHMARKS.md"
    doc.write_text(BEFORE + AFTER)
    with pytest.raises(ValueError, match="markers"):
        write_table(doc, a_run, seed(tmp_path))
    assert doc.read_text() == BEFORE + AFTER


def test_a_figure_recorded_again_in_a_run_replaces_the_first(a_run: Path) -> None:
    record("relay vs the maximum append rate", 5.0, "events/s", 1.0, "x", 5.0, ">= 5x", True)
    figures = json.loads(a_run.read_text())["figures"]
    assert [f["ours"] for f in figures] == [5.0]
    assert " cores" in json.loads(a_run.read_text())["machine"]


def test_a_run_worth_keeping_goes_into_the_seed(tmp_path: Path, a_run: Path) -> None:
    doc, seed_path = tmp_path / "BENCHMARKS.md", seed(tmp_path)
    doc.write_text(f"{START}{END}")
    write_table(doc, a_run, seed_path, into_seed=True)
    kept = {f["name"]: f for f in json.loads(seed_path.read_text())["figures"]}
    assert kept["relay vs the maximum append rate"]["ours"] == 9000.0
    assert kept["an older figure"]["measured"] == "2026-11-26"
    write_table(doc, None, seed_path)  # the seed alone now gives the same table
    assert "9,000 events/s" in doc.read_text()
