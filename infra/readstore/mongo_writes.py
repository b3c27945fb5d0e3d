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
- SQLite backend: updates and deletes scan the whole collection (its UPDATE uses
  `->'$._id'` while the _id index is on `->"_id"`), about 6 ms per statement at
  1,000 documents, growing linearly. Finds by `_id` and inserts are fast.

So a batch is written as: read the stored versions of its documents (one query),
drop what is not newer, delete the stored ones that are still at the version read
(`_delete_exactly`), insert every newer document (unordered `insert`, which
FerretDB implements fully), and only for an insert that meets a duplicate key (a
racing writer) send a guarded replacement, as raw `update` commands of `batch`
statements. A duplicate key there means "stored is newer" and is dropped; the
command's statements are then redone one by one from the reported index.
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
    _delete_exactly(coll, {c.doc_id: stored[c.doc_id] for c in fresh if c.doc_id in stored})
    raced = _insert_new(coll, [bodies[c.doc_id] for c in fresh])
    statements = [
        _guarded(c.doc_id, c.version, bodies[c.doc_id]) for c in fresh if c.doc_id in raced
    ]
    for start in range(0, len(statements), batch):
        _update_chunk(coll, statements[start : start + batch])


def _delete_exactly(coll: Collection[Document], versions: dict[str, int]) -> None:
    """Delete the stored documents we are about to replace, each only if it is still at
    the version we read. One statement per distinct version: FerretDB scans the whole
    collection for every update or delete statement, so a guarded update per document
    costs O(batch x collection); this costs O(versions x collection). A document someone
    changed meanwhile is not deleted: its insert meets a duplicate key and falls back to
    the guarded update. Readers may miss a document for the moment between the delete
    and the insert (a few milliseconds)."""
    by_version: dict[int, list[str]] = {}
    for doc_id, version in versions.items():
        by_version.setdefault(version, []).append(doc_id)
    for version, ids in by_version.items():
        coll.delete_many({"_id": {"$in": ids}, "_version": version})


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
