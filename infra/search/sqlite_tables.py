"""An index's tables in SQLite (their layout: see sqlite_fts): their names, their
creation and removal, and the rows that one DocChange writes."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from infra.search import Fields, check_index_name, keyword_values, number_value, text_value
from projections.ports import DocChange

TOKENIZERS = {
    "fts": "porter unicode61 remove_diacritics 2",
    "pre": "unicode61 remove_diacritics 2",
}


# Every table of an index: its documents, their keyword values one per row (filters and
# facets seek these by document instead of parsing each document's JSON), the two FTS tables.
KINDS = ("docs", "kw", *TOKENIZERS)


def table(index: str, kind: str) -> str:
    return f'"s:{check_index_name(index)}:{kind}"'


def columns(db: sqlite3.Connection, name: str) -> set[str]:
    return {row[0] for row in db.execute("SELECT name FROM pragma_table_info(?)", (name,))}


def create_tables(db: sqlite3.Connection, index: str, fields: Fields) -> None:
    db.execute(
        f"CREATE TABLE {table(index, 'docs')} (id INTEGER PRIMARY KEY, "
        "doc_id TEXT NOT NULL UNIQUE, version INTEGER NOT NULL, keywords TEXT, doc TEXT, "
        "numbers TEXT)"
    )
    create_keyword_table(db, index)
    for kind, tokenizer in TOKENIZERS.items():
        text_columns = ", ".join(fields.text)
        db.execute(
            f"CREATE VIRTUAL TABLE {table(index, kind)} "
            f"USING fts5({text_columns}, tokenize='{tokenizer}')"
        )


def create_keyword_table(db: sqlite3.Connection, index: str) -> None:
    db.execute(
        f"CREATE TABLE {table(index, 'kw')} (id INTEGER NOT NULL, field TEXT NOT NULL, "
        "value TEXT NOT NULL, PRIMARY KEY (id, field, value)) WITHOUT ROWID"
    )


def fill_keyword_table(db: sqlite3.Connection, index: str) -> None:
    """The keyword rows of every stored document (for an index made before the table)."""
    db.execute(
        f"INSERT OR IGNORE INTO {table(index, 'kw')} SELECT d.id, f.key, j.value "
        f"FROM {table(index, 'docs')} d, json_each(d.keywords) f, json_each(f.value) j "
        "WHERE d.doc IS NOT NULL"
    )


def drop_tables(db: sqlite3.Connection, index: str) -> None:
    for kind in KINDS:
        db.execute(f"DROP TABLE IF EXISTS {table(index, kind)}")


def apply_one(db: sqlite3.Connection, index: str, fields: Fields, change: DocChange) -> None:
    stored = db.execute(
        f"SELECT id, version FROM {table(index, 'docs')} WHERE doc_id = ?", (change.doc_id,)
    ).fetchone()
    if stored is not None and stored[1] >= change.version:
        return  # redelivered or replayed: what is stored is as new or newer
    doc = change.doc
    keywords = numbers = None
    if doc is not None:
        keywords = {f: keyword_values(doc.get(f)) for f in fields.keyword}
        numbers = {f: n for f in fields.numeric if (n := number_value(doc.get(f))) is not None}
    (row_id,) = db.execute(
        f"INSERT INTO {table(index, 'docs')} (doc_id, version, keywords, doc, numbers) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (doc_id) DO UPDATE SET version = excluded.version, "
        "keywords = excluded.keywords, doc = excluded.doc, numbers = excluded.numbers "
        "RETURNING id",
        (change.doc_id, change.version, _json(keywords), _json(doc), _json(numbers)),
    ).fetchone()
    db.execute(f"DELETE FROM {table(index, 'kw')} WHERE id = ?", (row_id,))
    if keywords is not None:
        db.executemany(
            f"INSERT OR IGNORE INTO {table(index, 'kw')} VALUES (?, ?, ?)",
            [(row_id, f, value) for f, values in keywords.items() for value in values],
        )
    for kind in TOKENIZERS:
        db.execute(f"DELETE FROM {table(index, kind)} WHERE rowid = ?", (row_id,))
        if doc is not None:
            values = [text_value(doc.get(f)) for f in fields.text]
            marks = ", ".join("?" for _ in fields.text)
            db.execute(
                f"INSERT INTO {table(index, kind)} (rowid, {', '.join(fields.text)}) "
                f"VALUES (?, {marks})",
                (row_id, *values),
            )


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, separators=(",", ":"))
