"""The SQL of SqliteSearchIndex.browse.

`browse` is plain SQL over the docs table: json_each for keyword filters and facets,
json_extract for sort keys and ranges, bm25 for relevance, keyset pagination.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from infra.search.browse_plan import MAX_FACET_VALUES, BrowsePlan, SortKey
from infra.search.sqlite_query import filter_sql, marked, match_expressions, snippet_columns
from infra.search.sqlite_tables import table
from projections.ports import Browse, NumberRange

Sql = tuple[str, list[Any]]  # a statement or condition with its parameters


def _and(conditions: list[Sql]) -> Sql:
    sql = " AND ".join(f"({c})" for c, _ in conditions) or "1"
    return sql, [p for _, params in conditions for p in params]


class BrowseSql:
    """The statements of one browse (count, facets, page), sharing their conditions.

    Field names are inlined into JSON paths: plan_browse has checked them against the
    declared fields, which match [a-z][a-z0-9_]*."""

    def __init__(self, index: str, query: Browse, plan: BrowsePlan) -> None:
        self.docs, self.fts, self.pre = (table(index, k) for k in ("docs", "fts", "pre"))
        self.plan, self.limit = plan, query.limit
        self.filters = filter_sql(query.filters)
        self.common: list[Sql] = [("d.doc IS NOT NULL", []), *_range_sql(query.ranges)]
        self.words, self.prefix = match_expressions(plan.terms) if plan.terms else ("", "")

    def _conditions(self, without: str = "") -> list[Sql]:
        return [*self.common, *(c for name, c in self.filters.items() if name != without)]

    def _matching(self) -> list[Sql]:
        if not self.plan.terms:
            return []
        ids = (
            f"SELECT rowid FROM {self.fts} WHERE {self.fts} MATCH ? "
            f"UNION SELECT rowid FROM {self.pre} WHERE {self.pre} MATCH ?"
        )
        return [(f"d.id IN ({ids})", [self.words, self.prefix])]

    def count(self) -> Sql:
        where, params = _and([*self._matching(), *self._conditions()])
        return f"SELECT count(*) FROM {self.docs} d WHERE {where}", params

    def facet(self, name: str) -> Sql:
        # Disjunctive: every condition but this field's own filter. DISTINCT: a value
        # listed twice in one document counts once.
        where, params = _and([*self._matching(), *self._conditions(without=name)])
        return (
            f"SELECT j.value, count(DISTINCT d.id) AS n FROM {self.docs} d, "
            f"json_each(d.keywords, ?) j WHERE {where} "
            f"GROUP BY j.value ORDER BY n DESC, j.value LIMIT {MAX_FACET_VALUES}",
            [f"$.{name}", *params],
        )

    def page(self) -> Sql:
        """Columns: id, doc_id, score, doc, then one per sort key (the cursor's values)."""
        keys = [(_sort_expr(key), key) for key in self.plan.keys]
        conditions = self._conditions()
        if self.plan.after is not None:
            conditions.append(_after_sql(keys, self.plan.after))
        where, params = _and(conditions)
        order = ", ".join([*(_order_sql(expr, key) for expr, key in keys), "d.doc_id"])
        columns = ", ".join(["d.id", "d.doc_id", "m.score", "d.doc", *(e for e, _ in keys)])
        scored, scored_params = self._scored()
        return (
            f"{scored} SELECT {columns} FROM {self.docs} d JOIN m ON m.id = d.id "
            f"WHERE {where} ORDER BY {order} LIMIT ?",
            [*scored_params, *params, self.limit + 1],
        )

    def _scored(self) -> Sql:
        """`m(id, score)`: the matching rows at their better bm25 score, as search() ranks
        them; every row at 0 when there is no text."""
        if not self.plan.terms:
            return f"WITH m(id, score) AS (SELECT id, 0.0 FROM {self.docs})", []
        matches = (
            f"SELECT rowid AS id, -bm25({self.fts}) AS score FROM {self.fts} "
            f"WHERE {self.fts} MATCH ? UNION ALL SELECT rowid, -bm25({self.pre}) "
            f"FROM {self.pre} WHERE {self.pre} MATCH ?"
        )
        sql = f"WITH m(id, score) AS (SELECT id, max(score) FROM ({matches}) GROUP BY id)"
        return sql, [self.words, self.prefix]


def _range_sql(ranges: tuple[NumberRange, ...]) -> list[Sql]:
    conditions: list[Sql] = []
    for r in ranges:
        value = f"json_extract(d.numbers, '$.{r.field}')"
        if r.gte is not None:
            conditions.append((f"{value} >= ?", [float(r.gte)]))
        if r.lte is not None:
            conditions.append((f"{value} <= ?", [float(r.lte)]))
    return conditions


def _sort_expr(key: SortKey) -> str:
    if key.kind == "score":
        return "m.score"
    if key.kind == "number":
        return f"json_extract(d.numbers, '$.{key.field}')"
    return f"json_extract(d.keywords, '$.{key.field}[0]')"  # a list sorts by its first value


def _order_sql(expr: str, key: SortKey) -> str:
    direction = "ASC" if key.order == 1 else "DESC"
    return f"{expr} IS NULL, {expr} {direction}"  # missing values last either way


def _after_sql(keys: list[tuple[str, SortKey]], after: list[Any]) -> Sql:
    """Rows strictly after the cursor's row in (keys..., doc_id) order, missing last."""
    options: list[Sql] = []
    same: list[Sql] = []
    for (expr, key), value in zip(keys, after, strict=False):
        if value is None:  # nothing sorts after a missing value but other missing ones
            same.append((f"{expr} IS NULL", []))
            continue
        beyond = ">" if key.order == 1 else "<"
        options.append(_and([*same, (f"{expr} IS NULL OR {expr} {beyond} ?", [value])]))
        same.append((f"{expr} = ?", [value]))
    options.append(_and([*same, ("d.doc_id > ?", [after[-1]])]))
    return " OR ".join(f"({sql})" for sql, _ in options), [p for _, ps in options for p in ps]


def page_highlights(
    db: sqlite3.Connection, index: str, text_fields: list[str], terms: list[str], row_ids: list[int]
) -> dict[int, dict[str, list[str]]]:
    """Highlights of the page's hits, as search() gives them: prefix match first."""
    if not terms or not row_ids:
        return {}
    words, prefix = match_expressions(terms)
    stemmed = _snippets(db, table(index, "fts"), words, text_fields, row_ids)
    partial = _snippets(db, table(index, "pre"), prefix, text_fields, row_ids)
    return {i: partial.get(i) or stemmed.get(i) or {} for i in row_ids}


def _snippets(
    db: sqlite3.Connection, fts: str, expression: str, text_fields: list[str], row_ids: list[int]
) -> dict[int, dict[str, list[str]]]:
    marks = ", ".join("?" for _ in row_ids)
    rows = db.execute(
        f"SELECT rowid{snippet_columns(fts, len(text_fields))} FROM {fts} "
        f"WHERE {fts} MATCH ? AND rowid IN ({marks})",
        (expression, *row_ids),
    ).fetchall()
    return {row[0]: marked(text_fields, list(row[1:])) for row in rows}
