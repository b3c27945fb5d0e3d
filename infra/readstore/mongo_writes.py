"""Version-guarded bulk writes to one MongoDB collection, shaped by FerretDB 1.24.

What FerretDB 1.24.2 does, measured against our server (SQLite backend):
- A guarded upsert `{_id: x, _version: {$lt: v}}` whose document is newer fails
  with a duplicate key (11000), as on MongoDB; but the `update` command ignores
  `ordered: false`, stops at the first error, reports it at index 0 and leaves out
  `n`/`nModified`, which makes pymongo's `bulk_write` fail with KeyError.
- Updates and deletes scan the whole collection (its UPDATE uses `->'$._id'` while
  the _id index is on `->"_id"`): about 2.5 µs per stored document per statement.
  Finds by `_id` and inserts use the index.

So a batch is written as: read the stored versions of its documents (one query),
drop what is not newer, insert the documents that are not stored yet (unordered
`insert`, which FerretDB implements fully), and send guarded replacements only
for the stored ones, as raw `update` commands in small chunks so each stays
within the socket timeout. A duplicate key from a racing writer means "stored is
newer" and is dropped; the chunk goes on one statement at a time from there.
"""

from __future__ import annotations

import contextlib
from typing import Any

from pymongo.collection import Collection
from pymongo.errors import BulkWriteError, DuplicateKeyError, OperationFailure

from infra.readstore.common import encode_json, newest_per_doc, stored_doc
from projections.ports import DocChange, Document

DUPLICATE_KEY = 11000


def write_changes(coll: Collection[Document], changes: list[DocChange], batch: int) -> None:
    latest = newest_per_doc(changes)
    bodies = {c.doc_id: _body(c) for c in latest}  # encodes all first: a bad one writes nothing
    if not latest:
        return
    stored = _stored_versions(coll, list(bodies))
    fresh = [c for c in latest if c.doc_id not in stored or c.version > stored[c.doc_id]]
    new = [c for c in fresh if c.doc_id not in stored]
    raced = _insert_new(coll, [bodies[c.doc_id] for c in new])
    existing = [c for c in fresh if c.doc_id in stored or c.doc_id in raced]
    statements = [_guarded(c.doc_id, c.version, bodies[c.doc_id]) for c in existing]
    for start in range(0, len(statements), batch):
        _update_chunk(coll, statements[start : start + batch])


def _body(change: DocChange) -> Document:
    if change.doc is None:
        return {"_id": change.doc_id, "_version": change.version, "_deleted": True}
    body = stored_doc(change)
    encode_json(body)  # the same documents as the SQLite store: JSON, no NaN
    return body


def _stored_versions(coll: Collection[Document], ids: list[str]) -> dict[str, int]:
    found = coll.find({"_id": {"$in": ids}}, {"_version": 1})
    return {str(d["_id"]): int(d.get("_version", 0)) for d in found}


def _insert_new(coll: Collection[Document], docs: list[Document]) -> set[str]:
    """Insert documents nobody had stored; return the ids someone inserted meanwhile."""
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
