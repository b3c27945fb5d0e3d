"""The SQL of SqliteSearchIndex.browse.

`browse` is plain SQL: the matching documents are found once into a temporary table,
then counted, faceted (the keyword rows) and paged from it; json_extract for sort keys
and ranges, bm25 for relevance, keyset pagination.
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


# The documents one browse matches, with their relevance, found once and then counted,
# faceted and paged (a connection's own table: each browse refills it under the lock).
# It holds what every statement wants: the text's matches within the ranges and within
# the filters of fields that are not faceted; a faceted field's filter is applied per
# statement, since that field's own counts leave it out.
MATCHES = "temp.browse_matches"
CREATE_MATCHES = (
    "CREATE TEMP TABLE IF NOT EXISTS browse_matches (id INTEGER PRIMARY KEY, score REAL NOT NULL)"
)


class BrowseSql:
    """The statements of one browse (fill the matches, count, facets, page).

    Field names are inlined into JSON paths: plan_browse has checked them against the
    declared fields, which match [a-z][a-z0-9_]*."""

    def __init__(self, index: str, query: Browse, plan: BrowsePlan) -> None:
        self.docs, self.kw, self.fts, self.pre = (
            table(index, k) for k in ("docs", "kw", "fts", "pre")
        )
        self.plan, self.limit = plan, query.limit
        filters = filter_sql(self.kw, query.filters, row="m.id")
        self.faceted = {name: c for name, c in filters.items() if name in query.facets}
        self.ranges = _range_sql(query.ranges)
        self.everywhere = [
            *self.ranges,
            *(c for name, c in filters.items() if name not in query.facets),
        ]
        self.words, self.prefix = match_expressions(plan.terms) if plan.terms else ("", "")

    def _conditions(self, without: str = "") -> list[Sql]:
        return [c for name, c in self.faceted.items() if name != without]

    def fill_matches(self) -> Sql:
        """The stored documents the text matches (at their better bm25 score, as search()
        ranks them; every stored document at 0 when there is no text) that every
        statement wants."""
        if self.plan.terms:
            scored = (
                f"SELECT rowid AS id, -bm25({self.fts}) AS score FROM {self.fts} "
                f"WHERE {self.fts} MATCH ? UNION ALL SELECT rowid, -bm25({self.pre}) "
                f"FROM {self.pre} WHERE {self.pre} MATCH ?"
            )
            text: Sql = (f"SELECT id, max(score) AS score FROM ({scored}) GROUP BY id",
                         [self.words, self.prefix])  # fmt: skip
        else:
            text = (f"SELECT id, 0.0 AS score FROM {self.docs} WHERE doc IS NOT NULL", [])
        where, params = _and(self.everywhere)
        numbers = f"JOIN {self.docs} d ON d.id = m.id " if self.ranges else ""  # the ranges'
        return (
            f"INSERT INTO {MATCHES} SELECT m.id, m.score FROM ({text[0]}) m {numbers}WHERE {where}",
            [*text[1], *params],
        )

    def count(self) -> Sql:
        where, params = _and(self._conditions())
        return f"SELECT count(*) FROM {MATCHES} m WHERE {where}", params

    def facet(self, name: str) -> Sql:
        # Disjunctive: every condition but this field's own filter. A value listed twice
        # in one document is one keyword row, so it counts once. CROSS JOIN: seek each
        # match's rows rather than scan every document's.
        where, params = _and(self._conditions(without=name))
        return (
            f"SELECT k.value, count(*) AS n FROM {MATCHES} m CROSS JOIN {self.kw} k "
            f"ON k.id = m.id AND k.field = ? WHERE {where} "
            f"GROUP BY k.value ORDER BY n DESC, k.value LIMIT {MAX_FACET_VALUES}",
            [name, *params],
        )

    def page(self) -> Sql:
        """Columns: id, doc_id, score, doc, then one per sort key (the cursor's values).
        The page is ordered on the keys alone, and only its rows' documents are read."""
        keys = [(_sort_expr(key), key) for key in self.plan.keys]
        conditions = self._conditions()
        if self.plan.after is not None:
            conditions.append(_after_sql(keys, self.plan.after))
        where, params = _and(conditions)
        order = ", ".join([*(_order_sql(expr, key) for expr, key in keys), "d.doc_id"])
        sort_columns = "".join(f", {expr} AS k{i}" for i, (expr, _) in enumerate(keys))
        ordered = (
            f"SELECT d.id, d.doc_id, m.score{sort_columns} FROM {MATCHES} m "
            f"JOIN {self.docs} d ON d.id = m.id WHERE {where} ORDER BY {order} LIMIT ?"
        )
        key_columns = "".join(f", p.k{i}" for i in range(len(keys)))
        again = ", ".join([*(_order_sql(f"p.k{i}", key) for i, (_, key) in enumerate(keys)),
                           "p.doc_id"])  # fmt: skip
        return (
            f"SELECT p.id, p.doc_id, p.score, d.doc{key_columns} FROM ({ordered}) p "
            f"JOIN {self.docs} d ON d.id = p.id ORDER BY {again}",
            [*params, self.limit + 1],
        )


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
