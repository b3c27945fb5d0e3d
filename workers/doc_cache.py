"""An in-process memory of the documents a projection worker last wrote.

MongoDB-compatible stores read many ids at once by scanning (FerretDB does), so a
busy worker should not read back what it has just written. This is safe while the
worker is the only writer of its partitions' aggregates: the cache is cleared on
every rebalance and after any failed write, and every store write stays
version-guarded regardless.
"""

from __future__ import annotations

from collections import OrderedDict

from projections.ports import DocChange, Document, ReadStore


class DocumentCache:
    def __init__(self, store: ReadStore, max_entries: int = 200_000) -> None:
        self._store, self._max = store, max_entries
        self._docs: OrderedDict[tuple[str, str], Document] = OrderedDict()

    def get_many(self, collection: str, doc_ids: list[str]) -> dict[str, Document]:
        found = {i: self._docs[(collection, i)] for i in doc_ids if (collection, i) in self._docs}
        missing = [i for i in doc_ids if i not in found]
        if missing:
            loaded = self._store.get_many(collection, missing)
            for doc_id, doc in loaded.items():
                self._put(collection, doc_id, doc)
            found.update(loaded)
        return found

    def remember(self, collection: str, changes: list[DocChange]) -> None:
        """Keep what was written; never step back to an older version (a redelivered
        stretch folds into an old version that the store refused)."""
        for change in changes:
            cached = self._docs.get((collection, change.doc_id))
            if cached is not None and int(cached["_version"]) >= change.version:
                continue
            if change.doc is None:
                self._docs.pop((collection, change.doc_id), None)
            else:
                doc = {**change.doc, "_id": change.doc_id, "_version": change.version}
                self._put(collection, change.doc_id, doc)

    def clear(self) -> None:
        self._docs.clear()

    def _put(self, collection: str, doc_id: str, doc: Document) -> None:
        self._docs[(collection, doc_id)] = doc
        self._docs.move_to_end((collection, doc_id))
        while len(self._docs) > self._max:
            self._docs.popitem(last=False)
