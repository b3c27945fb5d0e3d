"""The embedded read store: JSON documents in one SQLite file.

One table per collection (`docs_<name>`: id, version, doc) and a `positions`
table. `apply` writes the version-guarded changes and the position in one
transaction, which is what makes the embedded runner exactly-once. A delete
keeps the row as a tombstone (doc NULL, version kept) so that an older set,
redelivered later, cannot bring the document back.

One connection shared by the API's threads behind a lock; WAL mode lets another
process (a rebuild from the CLI) read while this one writes.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from infra.readstore.common import (
    check_collection,
    check_limit,
    decode_cursor,
    encode_cursor,
    encode_json,
    sort_order,
    stored_doc,
)
from infra.readstore.sqlite_sql import expr, keyset_sql, where_sql
from infra.sqlite_tx import immediate_transaction
from projections.cursor import Cursor
from projections.ports import DocChange, Document, Page, Position

_PREFIX = "docs_"
_UPSERT = (
    "INSERT INTO {t} (id, version, doc) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE"
    " SET version = excluded.version, doc = excluded.doc WHERE excluded.version > {t}.version"
)
_SET_POSITION = (
    "INSERT INTO positions (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE"
    " SET value = max(value, excluded.value)"
)


class SqliteReadStore:
    def __init__(self, path: Path, timeout_s: float = 5.0) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        # Autocommit mode: transactions are opened explicitly, so reads never hold one.
        self._conn = sqlite3.connect(
            path, timeout=timeout_s, isolation_level=None, check_same_thread=False
        )
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")  # a rebuild recovers a lost tail
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS positions (name TEXT PRIMARY KEY, value INTEGER NOT NULL)"
        )

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def get(self, collection: str, doc_id: str) -> Document | None:
        table = _table(collection)
        with self._lock:
            if not self._exists(table):
                return None
            row = self._conn.execute(
                f"SELECT doc FROM {table} WHERE id = ? AND doc IS NOT NULL", (doc_id,)
            ).fetchone()
        return None if row is None else _loads(row[0])

    def get_many(self, collection: str, doc_ids: list[str]) -> dict[str, Document]:
        table, found = _table(collection), {}
        with self._lock:
            if not self._exists(table):
                return {}
            for start in range(0, len(doc_ids), 500):  # SQLite caps bound parameters
                chunk = doc_ids[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows = self._conn.execute(
                    f"SELECT id, doc FROM {table} WHERE id IN ({marks}) AND doc IS NOT NULL",
                    chunk,
                )
                found.update({doc_id: _loads(raw) for doc_id, raw in rows})
        return found

    def apply(
        self, collection: str, changes: list[DocChange], position: Position | None = None
    ) -> None:
        table = _table(collection)
        with self._transaction() as conn:
            _create(conn, table)
            # A generator: documents are encoded while the transaction is open, so a bad
            # one mid-batch rolls back the rows already written before it.
            conn.executemany(_UPSERT.format(t=table), (_row(c) for c in changes))
            if position is not None:
                conn.execute(_SET_POSITION, (position.name, position.value))

    def find(
        self,
        collection: str,
        where: dict[str, Any] | None = None,
        sort: list[tuple[str, int]] | None = None,
        limit: int = 50,
        cursor: Cursor | None = None,
    ) -> Page:
        table, order = _table(collection), sort_order(sort)
        clauses, params = where_sql(where)
        if cursor is not None:
            after, after_params = keyset_sql(order, decode_cursor(order, cursor))
            clauses.append(after)
            params.extend(after_params)
        order_by = ", ".join(f"{expr(f)} {'ASC' if d == 1 else 'DESC'}" for f, d in order)
        sql = f"SELECT doc FROM {table} WHERE {' AND '.join(clauses)} ORDER BY {order_by} LIMIT ?"
        with self._lock:
            if not self._exists(table):
                return Page(items=[], next_cursor=None)
            rows = self._conn.execute(sql, [*params, check_limit(limit) + 1]).fetchall()
        items = [_loads(row[0]) for row in rows[:limit]]
        more = len(rows) > limit
        return Page(items=items, next_cursor=encode_cursor(order, items[-1]) if more else None)

    def count(self, collection: str, where: dict[str, Any] | None = None) -> int:
        table = _table(collection)
        clauses, params = where_sql(where)
        with self._lock:
            if not self._exists(table):
                return 0
            sql = f"SELECT count(*) FROM {table} WHERE {' AND '.join(clauses)}"
            return int(self._conn.execute(sql, params).fetchone()[0])

    def position(self, name: str) -> int:
        with self._lock:
            row = self._conn.execute("SELECT value FROM positions WHERE name = ?", (name,))
            found = row.fetchone()
        return 0 if found is None else int(found[0])

    def advance(self, positions: list[Position]) -> None:
        with self._transaction() as conn:
            conn.executemany(_SET_POSITION, [(p.name, p.value) for p in positions])

    def positions(self, names: list[str]) -> dict[str, int]:
        marks = ",".join("?" * len(names))
        with self._lock:
            rows = self._conn.execute(
                f"SELECT name, value FROM positions WHERE name IN ({marks})", names
            ).fetchall()
        return {**dict.fromkeys(names, 0), **{name: int(value) for name, value in rows}}

    def drop(self, collection: str) -> None:
        table = _table(collection)
        with self._transaction() as conn:
            conn.execute(f"DROP TABLE IF EXISTS {table}")

    def replace(self, target: str, source: str) -> None:
        """A missing source counts as an empty collection (a rebuild that found nothing)."""
        target_table, source_table = _table(target), _table(source)
        with self._transaction() as conn:
            conn.execute(f"DROP TABLE IF EXISTS {target_table}")
            if self._exists(source_table):
                conn.execute(f"ALTER TABLE {source_table} RENAME TO {target_table}")
            else:
                _create(conn, target_table)

    def collections(self, prefix: str = "") -> list[str]:
        with self._lock:
            rows = self._conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            names = [str(row[0]) for row in rows]
        return sorted(
            name[len(_PREFIX) :]
            for name in names
            if name.startswith(_PREFIX + prefix) and name != _PREFIX
        )

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return immediate_transaction(self._conn, self._lock)

    def _exists(self, table: str) -> bool:
        row = self._conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
        ).fetchone()
        return row is not None


def _table(collection: str) -> str:
    # Validated to [a-z0-9_], so the name is safe to splice into SQL unquoted.
    return _PREFIX + check_collection(collection)


def _create(conn: sqlite3.Connection, table: str) -> None:
    conn.execute(
        f"CREATE TABLE IF NOT EXISTS {table}"
        " (id TEXT PRIMARY KEY, version INTEGER NOT NULL, doc TEXT)"
    )


def _row(change: DocChange) -> tuple[str, int, str | None]:
    doc = None if change.doc is None else encode_json(stored_doc(change))
    return change.doc_id, change.version, doc


def _loads(raw: str) -> Document:
    doc: Document = json.loads(raw)
    return doc
