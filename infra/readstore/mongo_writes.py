"""Version-guarded bulk writes to one MongoDB collection, shaped by FerretDB 1.24.

What FerretDB 1.24.2 does, measured against our server:
- A guarded upsert `{_id: x, _version: {$lt: v}}` whose document is newer fails
  with a duplicate key (11000), as on MongoDB; but the `update` command ignores
  `ordered: false`, stops at the first error, reports it at index 0 and leaves out
  `n`/`nModified`, which makes pymongo's `bulk_write` fail with KeyError.
- Each statement of an `update` command keeps a pooled backend connection until
  the whole command ends (SQLite pool: 100 per database, PostgreSQL: 50, shared by
  all clients): one command of about 100 statements hangs until the client gives
  up. Hence `batch` statements per command, 1 unless the server is real MongoDB.
- SQLite backend: updates, deletes and `$in` reads scan the whole collection (its
  UPDATE uses `->'$._id'` while the _id index is on `->"_id"`), about 40 ms per
  update at 20,000 documents. PostgreSQL backend (ours, see the ferretdb service):
  a statement by `_id` uses the index, about 3 ms whatever the size.

So a batch is written as: insert every document (unordered `insert`, which FerretDB
implements fully; new ones land by the index), and for each that meets a duplicate
key (already stored) send a guarded replacement, as raw `update` commands of `batch`
statements, a few at once on separate connections. A duplicate key there means
"stored is at this version or newer" and is dropped; the command's statements are
then redone one by one from the reported index.
"""

from __future__ import annotations

import contextlib
from concurrent.futures import Executor
from functools import partial
from typing import Any

from pymongo.collection import Collection
from pymongo.errors import BulkWriteError, DuplicateKeyError, OperationFailure

from infra.readstore.common import encode_json, newest_per_doc, stored_doc
from projections.ports import DocChange, Document

DUPLICATE_KEY = 11000


def write_changes(
    coll: Collection[Document], changes: list[DocChange], batch: int, pool: Executor
) -> None:
    latest = newest_per_doc(changes)
    bodies = {c.doc_id: _body(c) for c in latest}  # encodes all first: a bad one writes nothing
    if not latest:
        return
    # Insert everything: a new document lands by the _id index, and one already stored
    # meets a duplicate key. Only those are then replaced, each only if older.
    stored = _insert_new(coll, list(bodies.values()))
    statements = [
        _guarded(c.doc_id, c.version, bodies[c.doc_id]) for c in latest if c.doc_id in stored
    ]
    chunks = [statements[i : i + batch] for i in range(0, len(statements), batch)]
    # Independent documents: the statements go out on a few connections at once.
    list(pool.map(partial(_update_chunk, coll), chunks))


def _body(change: DocChange) -> Document:
    if change.doc is None:
        return {"_id": change.doc_id, "_version": change.version, "_deleted": True}
    body = stored_doc(change)
    encode_json(body)  # the same documents as the SQLite store: JSON, no NaN
    return body


def _insert_new(coll: Collection[Document], docs: list[Document]) -> set[str]:
    """Insert the documents; return the ids that were stored already (duplicate keys)."""
    if not docs:
        return set()
    try:
        coll.insert_many(docs, ordered=False)
    except BulkWriteError as exc:
        errors = exc.details.get("writeErrors", [])
        _raise_unless_duplicates(errors)
        return {str(docs[int(e["index"])]["_id"]) for e in errors}
    return set()


def _guarded(doc_id: str, version: int, body: Document) -> dict[str, Any]:
    query = {"_id": doc_id, "_version": {"$lt": version}}
    return {"q": query, "u": body, "upsert": True}


def _update_chunk(coll: Collection[Document], statements: list[dict[str, Any]]) -> None:
    command = {"update": coll.name, "updates": statements, "ordered": True}
    result = coll.database.command(command)
    errors = result.get("writeErrors", [])
    _raise_unless_duplicates(errors)
    if errors:
        # FerretDB reports index 0 whatever statement failed: redo from the reported
        # one, one by one; statements already applied just meet their own version.
        for statement in statements[int(errors[0]["index"]) :]:
            _replace_one(coll, statement)


def _replace_one(coll: Collection[Document], statement: dict[str, Any]) -> None:
    # A duplicate key means the stored document is at this version or newer.
    with contextlib.suppress(DuplicateKeyError):
        coll.replace_one(statement["q"], statement["u"], upsert=True)


def _raise_unless_duplicates(errors: list[dict[str, Any]]) -> None:
    for error in errors:
        if error.get("code") != DUPLICATE_KEY:
            raise OperationFailure(str(error.get("errmsg")), error.get("code"), error)
