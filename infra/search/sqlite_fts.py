"""SearchIndex on SQLite FTS5, ranked by bm25 (the embedded profile).

An index `x` is three tables, named so that no two indexes can collide:
`"s:x:docs"` (id, doc_id, version, keyword values as JSON, the document as JSON;
a row whose doc is NULL is a tombstone, so an older redelivered change cannot
bring a deleted document back), `"s:x:fts"` (the text fields, porter-stemmed:
"classifiers" finds "classifier") and `"s:x:pre"` (the same text unstemmed, for
prefix matching: the stemmer would turn a partial word such as "runni" into a
term that no indexed word starts with). Both FTS tables share the docs table's
id as rowid. FTS5 has no fuzzy matching: a misspelt word finds nothing.
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
    IndexNotFound,
    check_fields,
    check_index_name,
    highlight,
    keyword_values,
    query_terms,
    text_value,
)
from projections.ports import DocChange, SearchHit

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
            "CREATE TABLE IF NOT EXISTS search_indexes "
            "(name TEXT PRIMARY KEY, text_fields TEXT NOT NULL, keyword_fields TEXT NOT NULL)"
        )

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

    def _fields(self, index: str) -> tuple[list[str], list[str]]:
        row = self._db.execute(
            "SELECT text_fields, keyword_fields FROM search_indexes WHERE name = ?",
            (check_index_name(index),),
        ).fetchone()
        if row is None:
            raise IndexNotFound(index)
        return json.loads(row[0]), json.loads(row[1])

    def ensure(self, index: str, text_fields: list[str], keyword_fields: list[str]) -> None:
        check_fields(text_fields, keyword_fields)
        with self._tx() as db:
            try:
                existing = self._fields(index)
            except IndexNotFound:
                existing = None
            if existing is not None:
                if existing != (text_fields, keyword_fields):
                    raise ValueError(f"index {index} exists with other fields: {existing}")
                return
            db.execute(
                f"CREATE TABLE {_table(index, 'docs')} (id INTEGER PRIMARY KEY, "
                "doc_id TEXT NOT NULL UNIQUE, version INTEGER NOT NULL, keywords TEXT, doc TEXT)"
            )
            for kind, tokenizer in _TOKENIZERS.items():
                columns = ", ".join(text_fields)
                db.execute(
                    f"CREATE VIRTUAL TABLE {_table(index, kind)} "
                    f"USING fts5({columns}, tokenize='{tokenizer}')"
                )
            db.execute(
                "INSERT INTO search_indexes VALUES (?, ?, ?)",
                (index, json.dumps(text_fields), json.dumps(keyword_fields)),
            )

    def apply(self, index: str, changes: list[DocChange]) -> None:
        with self._tx() as db:
            text_fields, keyword_fields = self._fields(index)
            for change in changes:
                _apply_one(db, index, text_fields, keyword_fields, change)

    def search(
        self, index: str, query: str, filters: dict[str, Any] | None = None, limit: int = 20
    ) -> list[SearchHit]:
        with self._lock:
            text_fields, keyword_fields = self._fields(index)
            terms = query_terms(query)
            if not terms or limit <= 0:
                return []
            unknown = set(filters or {}) - set(keyword_fields)
            if unknown:
                raise ValueError(f"not keyword fields of {index}: {sorted(unknown)}")
            words = " ".join(f'"{t}"' for t in terms)
            prefix = " ".join([*(f'"{t}"' for t in terms[:-1]), f'"{terms[-1]}"*'])
            args = (index, text_fields, filters or {}, limit)
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
        snippets = "".join(
            f", snippet({fts}, {i}, char(57344), char(57345), '…', {_SNIPPET_TOKENS})"
            for i in range(len(text_fields))
        )
        where, params = _filter_sql(filters)
        rows = self._db.execute(
            f"SELECT d.doc_id, -bm25({fts}), d.doc{snippets} FROM {fts} "
            f"JOIN {_table(index, 'docs')} d ON d.id = {fts}.rowid "
            f"WHERE {fts} MATCH ?{where} ORDER BY bm25({fts}) LIMIT ?",
            (expression, *params, limit),
        ).fetchall()
        return [_hit(row, text_fields) for row in rows]

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


def _drop_tables(db: sqlite3.Connection, index: str) -> None:
    for kind in ("docs", *_TOKENIZERS):
        db.execute(f"DROP TABLE IF EXISTS {_table(index, kind)}")


def _apply_one(
    db: sqlite3.Connection,
    index: str,
    text_fields: list[str],
    keyword_fields: list[str],
    change: DocChange,
) -> None:
    stored = db.execute(
        f"SELECT id, version FROM {_table(index, 'docs')} WHERE doc_id = ?", (change.doc_id,)
    ).fetchone()
    if stored is not None and stored[1] >= change.version:
        return  # redelivered or replayed: what is stored is as new or newer
    doc = change.doc
    keywords = None if doc is None else {f: keyword_values(doc.get(f)) for f in keyword_fields}
    (row_id,) = db.execute(
        f"INSERT INTO {_table(index, 'docs')} (doc_id, version, keywords, doc) "
        "VALUES (?, ?, ?, ?) ON CONFLICT (doc_id) DO UPDATE SET version = excluded.version, "
        "keywords = excluded.keywords, doc = excluded.doc RETURNING id",
        (change.doc_id, change.version, _json(keywords), _json(doc)),
    ).fetchone()
    for kind in _TOKENIZERS:
        db.execute(f"DELETE FROM {_table(index, kind)} WHERE rowid = ?", (row_id,))
        if doc is not None:
            values = [text_value(doc.get(f)) for f in text_fields]
            marks = ", ".join("?" for _ in text_fields)
            db.execute(
                f"INSERT INTO {_table(index, kind)} (rowid, {', '.join(text_fields)}) "
                f"VALUES (?, {marks})",
                (row_id, *values),
            )


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, separators=(",", ":"))


def _filter_sql(filters: dict[str, Any]) -> tuple[str, list[str]]:
    where, params = "", []
    for name, value in sorted(filters.items()):
        wanted = keyword_values(value)
        marks = ", ".join("?" for _ in wanted) or "NULL"  # an empty "any of" matches nothing
        where += f" AND EXISTS (SELECT 1 FROM json_each(d.keywords, ?) WHERE value IN ({marks}))"
        params += [f"$.{name}", *wanted]
    return where, params


def _hit(row: tuple[Any, ...], text_fields: list[str]) -> SearchHit:
    doc_id, score, doc, *snippets = row
    highlights = {
        field: [highlight(snippet)]
        for field, snippet in zip(text_fields, snippets, strict=True)
        if MARK_ON in snippet
    }
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
