"""The worker's document cache: reads what it wrote, never steps back a version."""

from __future__ import annotations

from typing import Any

from projections.ports import DocChange, Document


class CountingStore:
    def __init__(self, docs: dict[str, Document]) -> None:
        self.docs, self.reads = docs, 0

    def get_many(self, collection: str, doc_ids: list[str]) -> dict[str, Document]:
        self.reads += 1
        return {i: self.docs[i] for i in doc_ids if i in self.docs}


def cache_over(docs: dict[str, Any]) -> tuple[Any, CountingStore]:
    from workers.doc_cache import DocumentCache

    store = CountingStore(docs)
    return DocumentCache(store), store  # type: ignore[arg-type]


def test_written_documents_are_read_back_without_the_store() -> None:
    cache, store = cache_over({})
    cache.remember("users", [DocChange("a", 3, {"role": "publisher"})])
    assert cache.get_many("users", ["a"]) == {"a": {"role": "publisher", "_id": "a", "_version": 3}}
    assert store.reads == 0


def test_a_redelivered_older_version_does_not_replace_a_newer_one() -> None:
    cache, _ = cache_over({})
    cache.remember("users", [DocChange("a", 5, {"role": "admin"})])
    cache.remember("users", [DocChange("a", 3, {"role": "consumer"})])
    assert cache.get_many("users", ["a"])["a"]["_version"] == 5


def test_misses_go_to_the_store_once_and_clear_forgets_everything() -> None:
    cache, store = cache_over({"b": {"_id": "b", "_version": 1}})
    assert cache.get_many("users", ["b", "c"]) == {"b": {"_id": "b", "_version": 1}}
    cache.get_many("users", ["b"])
    assert store.reads == 1
    cache.clear()
    cache.get_many("users", ["b"])
    assert store.reads == 2
