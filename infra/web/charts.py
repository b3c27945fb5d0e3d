"""Charts as inline SVG, drawn on the server: no chart library goes to the browser.

`stacked_bars` turns rows of (column, series, value) into rectangles in a fixed viewBox;
the template draws them, and the same numbers go in a table beside it for screen readers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

WIDTH, HEIGHT, GAP = 600, 200, 4
MAX_LABELS = 10
# Colour-blind-safe (Okabe-Ito); a series keeps its colour across the columns.
PALETTE = ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442")


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    colour: str
    label: str  # the bar's <title>: column, series and value


@dataclass(frozen=True)
class Chart:
    bars: list[Bar]
    columns: list[tuple[float, str]]  # x of each column's label, the label
    legend: list[tuple[str, str]]  # series, colour
    peak: int
    width: int = WIDTH
    height: int = HEIGHT


def stacked_bars(rows: Iterable[tuple[str, str, int]], unit: str = "") -> Chart:
    """One column per distinct first value (in the order given), its series stacked."""
    columns: dict[str, dict[str, int]] = {}
    series: dict[str, str] = {}
    for column, name, value in rows:
        stack = columns.setdefault(column, {})
        # A bar cannot go below the axis: a negative (refunds) counts as none here; the
        # table beside the chart gives the true figure.
        stack[name] = stack.get(name, 0) + max(value, 0)
        series.setdefault(name, PALETTE[len(series) % len(PALETTE)])
    peak = max((sum(stack.values()) for stack in columns.values()), default=0)
    step = WIDTH / max(len(columns), 1)
    bars: list[Bar] = []
    for index, (column, stack) in enumerate(columns.items()):
        top = float(HEIGHT)
        for name, value in stack.items():
            height = HEIGHT * value / peak if peak else 0.0
            top -= height
            label = f"{column} {name}: {value}{unit}"
            bars.append(Bar(index * step + GAP / 2, top, step - GAP, height, series[name], label))
    every = -(-len(columns) // MAX_LABELS)  # a label on every column that has room
    labels = [(i * step + step / 2, c) for i, c in enumerate(columns) if i % every == 0]
    return Chart(bars, labels, list(series.items()), peak)
