"""SearchIndex on SQLite FTS5, ranked by bm25 (the embedded profile).

An index `x` is four tables, named so that no two indexes can collide:
`"s:x:docs"` (id, doc_id, version, keyword values as JSON, the document as JSON,
numeric values as JSON;
a row whose doc is NULL is a tombstone, so an older redelivered change cannot
bring a deleted document back), `"s:x:kw"` (id, field, value: a stored document's
keyword values, one per row, for filters and facets), `"s:x:fts"` (the text fields, porter-stemmed:
"classifiers" finds "classifier") and `"s:x:pre"` (the same text unstemmed, for
prefix matching: the stemmer would turn a partial word such as "runni" into a
term that no indexed word starts with). Both FTS tables share the docs table's
id as rowid. FTS5 has no fuzzy matching: a misspelt word finds nothing.

The tables are made and written in sqlite_tables, the FTS5 SQL that search and
browse share is in sqlite_query, and browse's own SQL in sqlite_browse.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from infra.search import Fields, IndexNotFound, check_fields, check_index_name, query_terms
from infra.search.browse_plan import encode_cursor, plan_browse
from infra.search.sqlite_browse import CREATE_MATCHES, MATCHES, BrowseSql, page_highlights
from infra.search.sqlite_query import filter_sql, marked, match_expressions, snippet_columns
from infra.search.sqlite_tables import (
    KINDS,
    apply_one,
    columns,
    create_keyword_table,
    create_tables,
    drop_tables,
    fill_keyword_table,
    table,
)
from infra.sqlite_tx import immediate_transaction
from projections.ports import Browse, BrowseResult, DocChange, SearchHit


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
        self._db.execute(CREATE_MATCHES)
        self._migrate()

    def _migrate(self) -> None:
        """Give a database made before numeric fields or keyword rows what it lacks."""
        with self._tx() as db:
            if "numeric_fields" not in columns(db, "search_indexes"):
                db.execute(
                    "ALTER TABLE search_indexes "
                    "ADD COLUMN numeric_fields TEXT NOT NULL DEFAULT '[]'"
                )
            for (name,) in db.execute("SELECT name FROM search_indexes").fetchall():
                if "numbers" not in columns(db, f"s:{name}:docs"):
                    db.execute(f"ALTER TABLE {table(name, 'docs')} ADD COLUMN numbers TEXT")
                if not columns(db, f"s:{name}:kw"):
                    create_keyword_table(db, name)
                    fill_keyword_table(db, name)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _tx(self) -> AbstractContextManager[sqlite3.Connection]:
        return immediate_transaction(self._db, self._lock)

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
            create_tables(db, index, fields)
            db.execute(
                "INSERT INTO search_indexes VALUES (?, ?, ?, ?)",
                (index, *(json.dumps(f) for f in (fields.text, fields.keyword, fields.numeric))),
            )

    def apply(self, index: str, changes: list[DocChange]) -> None:
        with self._tx() as db:
            fields = self._fields(index)
            for change in changes:
                apply_one(db, index, fields, change)

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
            words, prefix = match_expressions(terms)
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
        fts = table(index, kind)
        snippets = snippet_columns(fts, len(text_fields))
        conditions = filter_sql(table(index, "kw"), filters).values()
        where = "".join(f" AND {sql}" for sql, _ in conditions)
        params = [p for _, ps in conditions for p in ps]
        rows = self._db.execute(
            f"SELECT d.doc_id, -bm25({fts}), d.doc{snippets} FROM {fts} "
            f"JOIN {table(index, 'docs')} d ON d.id = {fts}.rowid "
            f"WHERE {fts} MATCH ?{where} ORDER BY bm25({fts}) LIMIT ?",
            (expression, *params, limit),
        ).fetchall()
        return [_hit(row, text_fields) for row in rows]

    def browse(self, index: str, query: Browse) -> BrowseResult:
        with self._snapshot() as db:
            fields = self._fields(index)
            plan = plan_browse(query, fields)
            sql = BrowseSql(index, query, plan)
            db.execute(f"DELETE FROM {MATCHES}")
            db.execute(*sql.fill_matches())
            (total,) = db.execute(*sql.count()).fetchone()
            facets = {name: dict(db.execute(*sql.facet(name)).fetchall()) for name in query.facets}
            rows = db.execute(*sql.page()).fetchall() if query.limit else []
            page = rows[: query.limit]
            row_ids = [row[0] for row in page]
            highlights = page_highlights(db, index, fields.text, plan.terms, row_ids)
        hits = [
            SearchHit(doc_id=doc_id, score=float(score), doc=json.loads(doc),
                      highlights=highlights.get(row_id, {}))
            for row_id, doc_id, score, doc, *_ in page
        ]  # fmt: skip
        more = len(rows) > len(page)
        cursor = encode_cursor(plan.keys, [*page[-1][4:], page[-1][1]]) if more else None
        return BrowseResult(hits=hits, total=total, facets=facets, next_cursor=cursor)

    def refresh(self, index: str) -> None:
        with self._lock:
            self._fields(index)  # writes are searchable on commit; only check it exists

    def drop(self, index: str) -> None:
        with self._tx() as db:
            drop_tables(db, index)
            db.execute("DELETE FROM search_indexes WHERE name = ?", (index,))

    def replace(self, target: str, source: str) -> None:
        with self._tx() as db:
            self._fields(source)
            drop_tables(db, target)
            for kind in KINDS:
                db.execute(f"ALTER TABLE {table(source, kind)} RENAME TO {table(target, kind)}")
            db.execute("DELETE FROM search_indexes WHERE name = ?", (target,))
            db.execute("UPDATE search_indexes SET name = ? WHERE name = ?", (target, source))


def _hit(row: tuple[Any, ...], text_fields: list[str]) -> SearchHit:
    doc_id, score, doc, *snippets = row
    highlights = marked(text_fields, snippets)
    return SearchHit(doc_id=doc_id, score=float(score), doc=json.loads(doc), highlights=highlights)


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
