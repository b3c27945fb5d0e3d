"""The usage stats' SQL, written once for both ledgers: calls grouped by local day in the
database (one SELECT per run of days with one UTC offset, under one UNION ALL), so a
report reads a row per day x model x currency whatever the traffic."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from queries.analytics_ports import DayCalls, DayRun, ModelCalls, Who

ERRORS = "sum(CASE WHEN status <> 'succeeded' THEN 1 ELSE 0 END)"


@dataclass(frozen=True)
class Dialect:
    table: str
    mark: str  # the driver's placeholder
    day_of_at: str  # `at`'s day number, the offset (seconds) as its one placeholder
    bound: str  # a placeholder for an epoch second compared with `at`
    bound_scale: int  # what an epoch second is multiplied by for `bound`
    integer: str  # the integer type for a CAST

    def where(self, lo: int, hi: int, who: Who) -> tuple[str, list[Any]]:
        sql = f"at >= {self.bound} AND at < {self.bound}"
        args: list[Any] = [lo * self.bound_scale, hi * self.bound_scale]
        for column, value in (("consumer_id", who.consumer_id),
                              ("publisher_id", who.publisher_id)):  # fmt: skip
            if value is not None:
                sql, args = f"{sql} AND {column} = {self.mark}", [*args, self.value(value)]
        return sql, args

    def value(self, id_: UUID) -> Any:
        return str(id_) if self.mark == "?" else id_

    def days(self, runs: Sequence[DayRun], who: Who, by_model: bool) -> tuple[str, list[Any]]:
        parts, args = [], []
        for run in runs:
            where, bound = self.where(run.lo, run.hi, who)
            if run.day is None:
                day, shift = self.day_of_at, run.offset
            else:
                day, shift = f"CAST({self.mark} AS {self.integer})", run.day
            parts.append(
                f"SELECT {day} AS day, model_id, consumer_id, currency, status, compute_ms "
                f"FROM {self.table} WHERE {where}"
            )
            args += [shift, *bound]
        keys = "day, model_id, currency" if by_model else "day, currency"
        sql = (
            f"SELECT {keys}, count(*), {ERRORS}, sum(compute_ms), count(DISTINCT consumer_id) "
            f"FROM ({' UNION ALL '.join(parts)}) AS calls GROUP BY {keys}"
        )
        return sql, args

    def models(self, lo: int, hi: int, who: Who, limit: int) -> tuple[str, list[Any]]:
        where, args = self.where(lo, hi, who)
        sql = (
            f"SELECT model_id, count(*), {ERRORS}, sum(compute_ms), count(DISTINCT consumer_id) "
            f"FROM {self.table} WHERE {where} GROUP BY model_id "
            f"ORDER BY count(*) DESC, model_id LIMIT {self.mark}"
        )
        return sql, [*args, limit]

    def consumers(self, lo: int, hi: int, who: Who) -> tuple[str, list[Any]]:
        where, args = self.where(lo, hi, who)
        return f"SELECT count(DISTINCT consumer_id) FROM {self.table} WHERE {where}", args


def day_calls(rows: Sequence[Sequence[Any]], by_model: bool) -> list[DayCalls]:
    found = []
    for row in rows:
        if by_model:
            day, model, currency, *figures = row
        else:
            (day, currency, *figures), model = row, None
        calls, errors, compute_ms, consumers = figures
        found.append(
            DayCalls(int(day), None if model is None else UUID(str(model)), str(currency),
                     int(calls), int(errors), float(compute_ms), int(consumers))
        )  # fmt: skip
    return found


def model_calls(rows: Sequence[Sequence[Any]]) -> list[ModelCalls]:
    return [ModelCalls(UUID(str(m)), int(n), int(e), float(ms), int(c)) for m, n, e, ms, c in rows]
