"""SearchIndex on SQLite FTS5, ranked by bm25 (the embedded profile).

An index `x` is three tables, named so that no two indexes can collide:
`"s:x:docs"` (id, doc_id, version, keyword values as JSON, the document as JSON,
numeric values as JSON;
a row whose doc is NULL is a tombstone, so an older redelivered change cannot
bring a deleted document back), `"s:x:fts"` (the text fields, porter-stemmed:
"classifiers" finds "classifier") and `"s:x:pre"` (the same text unstemmed, for
prefix matching: the stemmer would turn a partial word such as "runni" into a
term that no indexed word starts with). Both FTS tables share the docs table's
id as rowid. FTS5 has no fuzzy matching: a misspelt word finds nothing.

`browse` is plain SQL over the docs table: json_each for keyword filters and facets,
json_extract for sort keys and ranges, bm25 for relevance, keyset pagination.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from infra.search import (
    MARK_ON,
    MAX_FACET_VALUES,
    BrowsePlan,
    Fields,
    IndexNotFound,
    SortKey,
    check_fields,
    check_index_name,
    encode_cursor,
    highlight,
    keyword_values,
    number_value,
    plan_browse,
    query_terms,
    text_value,
)
from projections.ports import Browse, BrowseResult, DocChange, NumberRange, SearchHit

_TOKENIZERS = {
    "fts": "porter unicode61 remove_diacritics 2",
    "pre": "unicode61 remove_diacritics 2",
}
_SNIPPET_TOKENS = 24


def _table(index: str, kind: str) -> str:
    return f'"s:{check_index_name(index)}:{kind}"'


class SqliteSearchIndex:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS search_indexes (name TEXT PRIMARY KEY, "
            "text_fields TEXT NOT NULL, keyword_fields TEXT NOT NULL, "
            "numeric_fields TEXT NOT NULL DEFAULT '[]')"
        )
        self._migrate()

    def _migrate(self) -> None:
        """Give a database made before numeric fields the columns it lacks (no numbers)."""
        with self._tx() as db:
            if "numeric_fields" not in _columns(db, "search_indexes"):
                db.execute(
                    "ALTER TABLE search_indexes "
                    "ADD COLUMN numeric_fields TEXT NOT NULL DEFAULT '[]'"
                )
            for (name,) in db.execute("SELECT name FROM search_indexes").fetchall():
                if "numbers" not in _columns(db, f"s:{name}:docs"):
                    db.execute(f"ALTER TABLE {_table(name, 'docs')} ADD COLUMN numbers TEXT")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    @contextmanager
    def _snapshot(self) -> Iterator[sqlite3.Connection]:
        """Reads in one transaction: the count, facets and page agree with each other."""
        with self._lock:
            self._db.execute("BEGIN")
            try:
                yield self._db
            finally:
                self._db.execute("COMMIT")

    def _fields(self, index: str) -> Fields:
        row = self._db.execute(
            "SELECT text_fields, keyword_fields, numeric_fields FROM search_indexes WHERE name = ?",
            (check_index_name(index),),
        ).fetchone()
        if row is None:
            raise IndexNotFound(index)
        return Fields(*(json.loads(column) for column in row))

    def ensure(
        self,
        index: str,
        text_fields: list[str],
        keyword_fields: list[str],
        numeric_fields: list[str] | None = None,
    ) -> None:
        fields = check_fields(text_fields, keyword_fields, numeric_fields)
        with self._tx() as db:
            try:
                existing = self._fields(index)
            except IndexNotFound:
                existing = None
            if existing is not None:
                if existing != fields:
                    raise ValueError(f"index {index} exists with other fields: {existing}")
                return
            db.execute(
                f"CREATE TABLE {_table(index, 'docs')} (id INTEGER PRIMARY KEY, "
                "doc_id TEXT NOT NULL UNIQUE, version INTEGER NOT NULL, keywords TEXT, doc TEXT, "
                "numbers TEXT)"
            )
            for kind, tokenizer in _TOKENIZERS.items():
                columns = ", ".join(text_fields)
                db.execute(
                    f"CREATE VIRTUAL TABLE {_table(index, kind)} "
                    f"USING fts5({columns}, tokenize='{tokenizer}')"
                )
            db.execute(
                "INSERT INTO search_indexes VALUES (?, ?, ?, ?)",
                (index, *(json.dumps(f) for f in (fields.text, fields.keyword, fields.numeric))),
            )

    def apply(self, index: str, changes: list[DocChange]) -> None:
        with self._tx() as db:
            fields = self._fields(index)
            for change in changes:
                _apply_one(db, index, fields, change)

    def search(
        self, index: str, query: str, filters: dict[str, Any] | None = None, limit: int = 20
    ) -> list[SearchHit]:
        with self._lock:
            fields = self._fields(index)
            terms = query_terms(query)
            if not terms or limit <= 0:
                return []
            unknown = set(filters or {}) - set(fields.keyword)
            if unknown:
                raise ValueError(f"not keyword fields of {index}: {sorted(unknown)}")
            words, prefix = _expressions(terms)
            args = (index, fields.text, filters or {}, limit)
            stemmed = self._match("fts", words, *args)
            partial = self._match("pre", prefix, *args)
        return _merge(stemmed, partial, limit)

    def _match(
        self,
        kind: str,
        expression: str,
        index: str,
        text_fields: list[str],
        filters: dict[str, Any],
        limit: int,
    ) -> list[SearchHit]:
        fts = _table(index, kind)
        snippets = _snippet_columns(fts, len(text_fields))
        conditions = _filter_sql(filters).values()
        where = "".join(f" AND {sql}" for sql, _ in conditions)
        params = [p for _, ps in conditions for p in ps]
        rows = self._db.execute(
            f"SELECT d.doc_id, -bm25({fts}), d.doc{snippets} FROM {fts} "
            f"JOIN {_table(index, 'docs')} d ON d.id = {fts}.rowid "
            f"WHERE {fts} MATCH ?{where} ORDER BY bm25({fts}) LIMIT ?",
            (expression, *params, limit),
        ).fetchall()
        return [_hit(row, text_fields) for row in rows]

    def browse(self, index: str, query: Browse) -> BrowseResult:
        with self._snapshot() as db:
            fields = self._fields(index)
            plan = plan_browse(query, fields)
            sql = _BrowseSql(index, query, plan)
            (total,) = db.execute(*sql.count()).fetchone()
            facets = {name: dict(db.execute(*sql.facet(name)).fetchall()) for name in query.facets}
            rows = db.execute(*sql.page()).fetchall() if query.limit else []
            page = rows[: query.limit]
            marked = self._highlights(index, fields.text, plan.terms, [row[0] for row in page])
        hits = [
            SearchHit(doc_id=doc_id, score=float(score), doc=json.loads(doc),
                      highlights=marked.get(row_id, {}))
            for row_id, doc_id, score, doc, *_ in page
        ]  # fmt: skip
        more = len(rows) > len(page)
        cursor = encode_cursor(plan.keys, [*page[-1][4:], page[-1][1]]) if more else None
        return BrowseResult(hits=hits, total=total, facets=facets, next_cursor=cursor)

    def _highlights(
        self, index: str, text_fields: list[str], terms: list[str], row_ids: list[int]
    ) -> dict[int, dict[str, list[str]]]:
        """Highlights of the page's hits, as search() gives them: prefix match first."""
        if not terms or not row_ids:
            return {}
        words, prefix = _expressions(terms)
        stemmed = self._snippets(index, "fts", words, text_fields, row_ids)
        partial = self._snippets(index, "pre", prefix, text_fields, row_ids)
        return {i: partial.get(i) or stemmed.get(i) or {} for i in row_ids}

    def _snippets(
        self, index: str, kind: str, expression: str, text_fields: list[str], row_ids: list[int]
    ) -> dict[int, dict[str, list[str]]]:
        fts = _table(index, kind)
        marks = ", ".join("?" for _ in row_ids)
        rows = self._db.execute(
            f"SELECT rowid{_snippet_columns(fts, len(text_fields))} FROM {fts} "
            f"WHERE {fts} MATCH ? AND rowid IN ({marks})",
            (expression, *row_ids),
        ).fetchall()
        return {row[0]: _marked(text_fields, list(row[1:])) for row in rows}

    def refresh(self, index: str) -> None:
        with self._lock:
            self._fields(index)  # writes are searchable on commit; only check it exists

    def drop(self, index: str) -> None:
        with self._tx() as db:
            _drop_tables(db, index)
            db.execute("DELETE FROM search_indexes WHERE name = ?", (index,))

    def replace(self, target: str, source: str) -> None:
        with self._tx() as db:
            self._fields(source)
            _drop_tables(db, target)
            for kind in ("docs", *_TOKENIZERS):
                db.execute(f"ALTER TABLE {_table(source, kind)} RENAME TO {_table(target, kind)}")
            db.execute("DELETE FROM search_indexes WHERE name = ?", (target,))
            db.execute("UPDATE search_indexes SET name = ? WHERE name = ?", (target, source))


def _snippet_columns(fts: str, count: int) -> str:
    return "".join(
        f", snippet({fts}, {i}, char(57344), char(57345), '…', {_SNIPPET_TOKENS})"
        for i in range(count)
    )


def _columns(db: sqlite3.Connection, table: str) -> set[str]:
    return {row[0] for row in db.execute("SELECT name FROM pragma_table_info(?)", (table,))}


def _expressions(terms: list[str]) -> tuple[str, str]:
    """FTS5 queries for the words (stemmed table) and with the last as a prefix (plain)."""
    words = " ".join(f'"{t}"' for t in terms)
    prefix = " ".join([*(f'"{t}"' for t in terms[:-1]), f'"{terms[-1]}"*'])
    return words, prefix


def _drop_tables(db: sqlite3.Connection, index: str) -> None:
    for kind in ("docs", *_TOKENIZERS):
        db.execute(f"DROP TABLE IF EXISTS {_table(index, kind)}")


def _apply_one(db: sqlite3.Connection, index: str, fields: Fields, change: DocChange) -> None:
    stored = db.execute(
        f"SELECT id, version FROM {_table(index, 'docs')} WHERE doc_id = ?", (change.doc_id,)
    ).fetchone()
    if stored is not None and stored[1] >= change.version:
        return  # redelivered or replayed: what is stored is as new or newer
    doc = change.doc
    keywords = numbers = None
    if doc is not None:
        keywords = {f: keyword_values(doc.get(f)) for f in fields.keyword}
        numbers = {f: n for f in fields.numeric if (n := number_value(doc.get(f))) is not None}
    (row_id,) = db.execute(
        f"INSERT INTO {_table(index, 'docs')} (doc_id, version, keywords, doc, numbers) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (doc_id) DO UPDATE SET version = excluded.version, "
        "keywords = excluded.keywords, doc = excluded.doc, numbers = excluded.numbers "
        "RETURNING id",
        (change.doc_id, change.version, _json(keywords), _json(doc), _json(numbers)),
    ).fetchone()
    for kind in _TOKENIZERS:
        db.execute(f"DELETE FROM {_table(index, kind)} WHERE rowid = ?", (row_id,))
        if doc is not None:
            values = [text_value(doc.get(f)) for f in fields.text]
            marks = ", ".join("?" for _ in fields.text)
            db.execute(
                f"INSERT INTO {_table(index, kind)} (rowid, {', '.join(fields.text)}) "
                f"VALUES (?, {marks})",
                (row_id, *values),
            )


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, separators=(",", ":"))


def _filter_sql(filters: dict[str, Any]) -> dict[str, tuple[str, list[str]]]:
    """One condition per filtered field, by field (facets leave their own field's out)."""
    conditions = {}
    for name, value in sorted(filters.items()):
        wanted = keyword_values(value)
        marks = ", ".join("?" for _ in wanted) or "NULL"  # an empty "any of" matches nothing
        sql = f"EXISTS (SELECT 1 FROM json_each(d.keywords, ?) WHERE value IN ({marks}))"
        conditions[name] = (sql, [f"$.{name}", *wanted])
    return conditions


def _hit(row: tuple[Any, ...], text_fields: list[str]) -> SearchHit:
    doc_id, score, doc, *snippets = row
    highlights = _marked(text_fields, snippets)
    return SearchHit(doc_id=doc_id, score=float(score), doc=json.loads(doc), highlights=highlights)


def _marked(text_fields: list[str], snippets: list[str]) -> dict[str, list[str]]:
    return {
        field: [highlight(snippet)]
        for field, snippet in zip(text_fields, snippets, strict=True)
        if MARK_ON in snippet
    }


def _merge(stemmed: list[SearchHit], partial: list[SearchHit], limit: int) -> list[SearchHit]:
    """One hit per document, at its better score; highlights of the prefix match first
    (they mark partly typed words), of the stemmed match when it has none."""
    best: dict[str, SearchHit] = {hit.doc_id: hit for hit in stemmed}
    for hit in partial:
        other = best.get(hit.doc_id)
        if other is not None:
            hit = SearchHit(
                doc_id=hit.doc_id,
                score=max(hit.score, other.score),
                doc=hit.doc,
                highlights=hit.highlights or other.highlights,
            )
        best[hit.doc_id] = hit
    return sorted(best.values(), key=lambda h: (-h.score, h.doc_id))[:limit]


Sql = tuple[str, list[Any]]  # a statement or condition with its parameters


def _and(conditions: list[Sql]) -> Sql:
    sql = " AND ".join(f"({c})" for c, _ in conditions) or "1"
    return sql, [p for _, params in conditions for p in params]


class _BrowseSql:
    """The statements of one browse (count, facets, page), sharing their conditions.

    Field names are inlined into JSON paths: plan_browse has checked them against the
    declared fields, which match [a-z][a-z0-9_]*."""

    def __init__(self, index: str, query: Browse, plan: BrowsePlan) -> None:
        self.docs, self.fts, self.pre = (_table(index, k) for k in ("docs", "fts", "pre"))
        self.plan, self.limit = plan, query.limit
        self.filters = _filter_sql(query.filters)
        self.common: list[Sql] = [("d.doc IS NOT NULL", []), *_range_sql(query.ranges)]
        self.words, self.prefix = _expressions(plan.terms) if plan.terms else ("", "")

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
