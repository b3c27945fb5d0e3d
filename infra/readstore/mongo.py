"""The cluster read store: one MongoDB collection per read model (FerretDB 1.24 here).

Every document keeps `_version`; a write happens only if it is newer. A delete
leaves a tombstone (`_deleted: true`, `_version` kept) so an older set, redelivered
later, cannot bring the document back. Positions live in `_positions` and only
ever go up (`$max`), written after the documents: a crash in between replays the
batch, which the version guard makes harmless.

Only what docs/SERVICES.md lists as working on FerretDB is used: no transactions,
no aggregation, plain filters, `$in`, `$max`, renames without `dropTarget`.
"""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pymongo import MongoClient, UpdateOne
from pymongo.collection import Collection
from pymongo.errors import OperationFailure

from infra.readstore.common import (
    Bound,
    check_collection,
    check_limit,
    decode_cursor,
    encode_cursor,
    keyset_branches,
    sort_order,
    where_items,
)
from infra.readstore.mongo_writes import write_changes
from projections.cursor import Cursor
from projections.ports import DocChange, Document, Page, Position

POSITIONS = "_positions"  # a leading "_" is never a valid read-model name
_LIVE: dict[str, Any] = {"_deleted": {"$ne": True}}


class MongoReadStore:
    def __init__(
        self, url: str, database: str, timeout_ms: int = 5000, write_batch: int = 1
    ) -> None:
        """`write_batch`: statements per `update` command; keep 1 on FerretDB (see
        mongo_writes), raise it only against real MongoDB."""
        self._client: MongoClient[Document] = MongoClient(
            url,
            serverSelectionTimeoutMS=timeout_ms,
            connectTimeoutMS=timeout_ms,
            socketTimeoutMS=timeout_ms,
        )
        self._db = self._client[database]
        self._write_batch = write_batch
        self._writers = ThreadPoolExecutor(max_workers=4, thread_name_prefix="mongo-write")

    def close(self) -> None:
        self._writers.shutdown()
        self._client.close()

    def get(self, collection: str, doc_id: str) -> Document | None:
        return self._coll(collection).find_one({"_id": doc_id, **_LIVE})

    def get_many(self, collection: str, doc_ids: list[str]) -> dict[str, Document]:
        found = self._coll(collection).find({"_id": {"$in": doc_ids}, **_LIVE})
        return {str(doc["_id"]): doc for doc in found}

    def apply(
        self, collection: str, changes: list[DocChange], position: Position | None = None
    ) -> None:
        write_changes(self._coll(collection), changes, self._write_batch, self._writers)
        if position is not None:
            self.advance([position])

    def find(
        self,
        collection: str,
        where: dict[str, Any] | None = None,
        sort: list[tuple[str, int]] | None = None,
        limit: int = 50,
        cursor: Cursor | None = None,
    ) -> Page:
        order = sort_order(sort)
        query = _filter(where)
        if cursor is not None:
            branches = keyset_branches(order, decode_cursor(order, cursor))
            after = [{"$and": [_bound(b) for b in branch]} for branch in branches]
            # No branch at all means nothing comes after the cursor.
            query = {"$and": [query, {"$or": after}]} if after else {"_id": {"$in": []}}
        found = self._coll(collection).find(query, sort=order, limit=check_limit(limit) + 1)
        rows = list(found)
        items = rows[:limit]
        more = len(rows) > limit
        return Page(items=items, next_cursor=encode_cursor(order, items[-1]) if more else None)

    def count(self, collection: str, where: dict[str, Any] | None = None) -> int:
        return self._coll(collection).count_documents(_filter(where))

    def position(self, name: str) -> int:
        found = self._db[POSITIONS].find_one({"_id": name})
        return 0 if found is None else int(found["value"])

    def advance(self, positions: list[Position]) -> None:
        moves = [
            UpdateOne({"_id": p.name}, {"$max": {"value": p.value}}, upsert=True)  # never back
            for p in positions
        ]
        if moves:
            self._db[POSITIONS].bulk_write(moves, ordered=False)

    def positions(self, names: list[str]) -> dict[str, int]:
        found = self._db[POSITIONS].find({"_id": {"$in": names}})
        return {**dict.fromkeys(names, 0), **{doc["_id"]: int(doc["value"]) for doc in found}}

    def drop(self, collection: str) -> None:
        self._db.drop_collection(check_collection(collection))

    def replace(self, target: str, source: str) -> None:
        """Not atomic on FerretDB 1.24, which refuses `renameCollection` with
        `dropTarget: true`: the old target is renamed aside, the source renamed into
        place, then the old copy dropped. Readers see no `target` for the moment
        between the two renames (milliseconds); if the second rename fails the old
        target is put back. A missing source counts as an empty collection."""
        target, source = check_collection(target), check_collection(source)
        existing = set(self._db.list_collection_names())
        if source not in existing:
            self._db.drop_collection(target)
            return
        if target not in existing:
            self._db[source].rename(target)
            return
        aside = f"_replaced_{target}_{uuid.uuid4().hex[:8]}"
        self._db[target].rename(aside)
        try:
            self._db[source].rename(target)
        except OperationFailure:
            self._db[aside].rename(target)
            raise
        self._db.drop_collection(aside)

    def collections(self, prefix: str = "") -> list[str]:
        names = self._db.list_collection_names()
        return sorted(n for n in names if n.startswith(prefix) and not n.startswith("_"))

    def _coll(self, collection: str) -> Collection[Document]:
        return self._db[check_collection(collection)]


def _filter(where: dict[str, Any] | None) -> dict[str, Any]:
    query: dict[str, Any] = dict(_LIVE)
    for field, value in where_items(where):
        query[field] = {"$in": value} if isinstance(value, list) else value
    return query


def _bound(bound: Bound) -> dict[str, Any]:
    field, value = bound.field, bound.value
    if bound.op == "eq":
        return {field: value}  # None matches null and missing, as in the sort
    if value is None:  # ascending: every non-null value comes after null
        return {field: {"$ne": None}}
    if bound.direction == 1:
        return {field: {"$gt": value}}
    return {"$or": [{field: {"$lt": value}}, {field: None}]}
