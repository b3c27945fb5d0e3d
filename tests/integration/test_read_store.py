"""The ReadStore contract, run against SQLite and against the real FerretDB."""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pymongo import MongoClient

from infra.readstore.mongo import MongoReadStore
from infra.readstore.sqlite import SqliteReadStore
from projections.cursor import MAX_INT64, MIN_INT64, Cursor, InvalidCursor
from projections.ports import DocChange, Document, Position, ReadStore

C = "items"


@pytest.fixture(params=["sqlite", "mongo"])
def store(
    request: pytest.FixtureRequest, tmp_path: Path, unique_name: Callable[..., str]
) -> Iterator[ReadStore]:
    if request.param == "sqlite":
        sqlite = SqliteReadStore(tmp_path / "read.db")
        yield sqlite
        sqlite.close()
        return
    url: str = request.getfixturevalue("mongo_url")
    database = unique_name("rs")
    mongo = MongoReadStore(url, database)
    yield mongo
    mongo.close()
    client: MongoClient[Document] = MongoClient(url, serverSelectionTimeoutMS=5000)
    client.drop_database(database)
    client.close()


def put(store: ReadStore, doc_id: str, version: int, doc: Document | None) -> None:
    store.apply(C, [DocChange(doc_id, version, doc)])


def ids(docs: list[Document]) -> list[str]:
    return [str(d["_id"]) for d in docs]


def test_documents_come_back_with_their_id_and_version(store: ReadStore) -> None:
    put(store, "a", 1, {"name": "Ada", "tags": ["x"], "price": {"cents": 100}})
    assert store.get(C, "a") == {
        "_id": "a",
        "_version": 1,
        "name": "Ada",
        "tags": ["x"],
        "price": {"cents": 100},
    }


def test_a_newer_version_replaces_the_whole_document(store: ReadStore) -> None:
    put(store, "a", 1, {"name": "Ada", "old": True})
    put(store, "a", 2, {"name": "Grace"})
    assert store.get(C, "a") == {"_id": "a", "_version": 2, "name": "Grace"}


def test_an_older_or_equal_version_is_ignored(store: ReadStore) -> None:
    put(store, "a", 5, {"name": "five"})
    put(store, "a", 4, {"name": "four"})
    put(store, "a", 5, {"name": "five again"})
    assert store.get(C, "a") == {"_id": "a", "_version": 5, "name": "five"}


def test_the_newest_change_wins_within_one_batch(store: ReadStore) -> None:
    changes = [DocChange("a", v, {"v": v}) for v in (2, 3, 1, 3)]
    store.apply(C, [*changes, DocChange("b", 1, {"v": 1}), DocChange("b", 2, None)])
    assert store.get(C, "a") == {"_id": "a", "_version": 3, "v": 3}
    assert store.get(C, "b") is None


def test_a_delete_applies_only_when_it_is_newer(store: ReadStore) -> None:
    put(store, "a", 3, {"n": 1})
    put(store, "a", 2, None)
    assert store.get(C, "a") is not None
    put(store, "a", 4, None)
    assert store.get(C, "a") is None


def test_an_older_set_after_a_delete_does_not_resurrect_the_document(store: ReadStore) -> None:
    put(store, "a", 1, {"n": 1})
    put(store, "a", 3, None)
    put(store, "a", 2, {"n": 2})
    put(store, "never-set", 5, None)
    put(store, "never-set", 4, {"n": 4})
    assert store.get(C, "a") is None and store.get(C, "never-set") is None
    assert store.count(C) == 0 and store.find(C).items == []
    put(store, "a", 4, {"n": 4})
    assert store.get(C, "a") == {"_id": "a", "_version": 4, "n": 4}


def test_getting_a_missing_document_or_collection_gives_nothing(store: ReadStore) -> None:
    put(store, "a", 1, {})
    assert store.get(C, "b") is None
    assert store.get("nowhere", "a") is None
    assert store.find("nowhere").items == [] and store.count("nowhere") == 0


def seed(store: ReadStore) -> None:
    colors = ["red", "blue", "green"]
    store.apply(
        C, [DocChange(f"d{i:02}", 1, {"color": colors[i % 3], "n": i % 4}) for i in range(12)]
    )
    put(store, "d00", 2, None)


def test_find_matches_equality_filters_and_skips_deleted_ones(store: ReadStore) -> None:
    seed(store)
    assert ids(store.find(C, {"color": "red"}).items) == ["d03", "d06", "d09"]
    assert ids(store.find(C, {"color": "red", "n": 1}).items) == ["d09"]
    assert store.count(C, {"color": "red"}) == 3 and store.count(C) == 11


def test_find_with_a_list_matches_any_of_its_values(store: ReadStore) -> None:
    seed(store)
    page = store.find(C, {"color": ["red", "green"], "n": [0, 2]})
    assert ids(page.items) == ["d02", "d06", "d08"]
    assert store.find(C, {"color": []}).items == []


def test_find_sorts_both_ways_with_the_id_breaking_ties(store: ReadStore) -> None:
    seed(store)
    up = store.find(C, {"color": "blue"}, sort=[("n", 1)])
    down = store.find(C, {"color": "blue"}, sort=[("n", -1)])
    assert ids(up.items) == ["d04", "d01", "d10", "d07"]
    assert ids(down.items) == ["d07", "d10", "d01", "d04"]
    assert ids(store.find(C, sort=[("_id", -1)], limit=2).items) == ["d11", "d10"]


def expected_order(docs: list[Document], direction: int) -> list[str]:
    # Missing values sort first ascending and last descending, as in both stores.
    def key(d: Document) -> tuple[bool, int, str]:
        rank = d.get("rank")
        if direction == 1:
            return rank is not None, rank or 0, d["_id"]
        return rank is None, -(rank or 0), d["_id"]

    return [d["_id"] for d in sorted(docs, key=key)]


@pytest.mark.parametrize("direction", [1, -1])
@pytest.mark.parametrize("page_size", [1, 7, 25])
def test_paging_returns_every_document_once_in_order(
    store: ReadStore, direction: int, page_size: int
) -> None:
    docs: list[Document] = [{"_id": f"p{i:02}", "rank": i % 4} for i in range(22)]
    docs += [{"_id": f"p{i:02}"} for i in range(22, 25)]  # no rank at all
    shuffled = random.Random(7).sample(docs, len(docs))
    store.apply(
        C, [DocChange(d["_id"], 1, {k: v for k, v in d.items() if k != "_id"}) for d in shuffled]
    )
    seen, cursor, pages = [], None, 0
    while True:
        page = store.find(C, sort=[("rank", direction)], limit=page_size, cursor=cursor)
        seen += ids(page.items)
        pages += 1
        assert len(page.items) <= page_size
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == expected_order(docs, direction)
    assert pages == -(-25 // page_size)


def test_count_honours_filters_and_skips_deleted_documents(store: ReadStore) -> None:
    seed(store)
    assert store.count(C) == 11
    assert store.count(C, {"color": ["red", "blue"]}) == 7
    assert store.count(C, {"color": "purple"}) == 0


def test_a_position_is_recorded_with_apply_and_never_moves_back(store: ReadStore) -> None:
    assert store.position("users") == 0
    store.apply(C, [DocChange("a", 1, {})], Position("users", 5))
    assert store.position("users") == 5
    store.apply(C, [], Position("users", 3))
    assert store.position("users") == 5
    store.apply(C, [], Position("users", 9))
    assert (store.position("users"), store.position("models")) == (9, 0)
    assert store.positions(["users", "models"]) == {"users": 9, "models": 0}
    assert store.positions([]) == {}
    store.advance([Position("users", 7), Position("models", 4), Position("keys", 2)])
    assert store.positions(["users", "models", "keys"]) == {"users": 9, "models": 4, "keys": 2}


def test_a_failed_apply_stores_neither_its_changes_nor_its_position(store: ReadStore) -> None:
    store.apply(C, [DocChange("a", 1, {"n": 1})], Position("p", 1))
    # The bad document comes after good ones: SQLite has already written those rows
    # inside the transaction when encoding fails, and rolls them back.
    bad = [DocChange("a", 2, {"n": 2}), DocChange("b", 1, {}), DocChange("c", 1, {"x": object()})]
    with pytest.raises(TypeError):
        store.apply(C, [*bad, DocChange("d", 1, {})], Position("p", 2))
    assert store.get(C, "a") == {"_id": "a", "_version": 1, "n": 1}
    assert store.count(C) == 1 and store.position("p") == 1


def test_replace_swaps_content_and_removes_the_source(store: ReadStore) -> None:
    store.apply("live", [DocChange("a", 1, {"n": 1}), DocChange("b", 1, {"n": 1})])
    store.apply("rebuild", [DocChange("b", 2, {"n": 2}), DocChange("c", 1, {"n": 1})])
    store.replace("live", "rebuild")
    assert ids(store.find("live").items) == ["b", "c"]
    assert store.get("live", "b") == {"_id": "b", "_version": 2, "n": 2}
    assert store.collections() == ["live"] and store.get("rebuild", "c") is None


def test_replace_fills_a_target_that_does_not_exist_yet(store: ReadStore) -> None:
    store.apply("rebuild", [DocChange("a", 1, {})])
    store.replace("live", "rebuild")
    assert ids(store.find("live").items) == ["a"] and store.collections() == ["live"]


def test_collections_lists_the_names_with_a_prefix(store: ReadStore) -> None:
    for name in ("orders_a", "orders_b", "users"):
        store.apply(name, [DocChange("x", 1, {})], Position(name, 1))
    assert store.collections("orders_") == ["orders_a", "orders_b"]
    assert store.collections() == ["orders_a", "orders_b", "users"]
    store.drop("orders_a")
    assert store.collections("orders") == ["orders_b"] and store.get("orders_a", "x") is None


@pytest.mark.parametrize("name", ["Users", "a-b", "a.b", "", "_positions", "x; drop table y"])
def test_unsafe_collection_names_are_refused(store: ReadStore, name: str) -> None:
    with pytest.raises(ValueError):
        store.apply(name, [DocChange("a", 1, {})])
    with pytest.raises(ValueError):
        store.get(name, "a")


def test_unsafe_fields_and_forged_cursors_are_refused(store: ReadStore) -> None:
    seed(store)
    with pytest.raises(ValueError):
        store.find(C, {"n') OR 1=1 --": 1})
    with pytest.raises(ValueError):
        store.find(C, sort=[("$where", 1)])
    real = store.find(C, sort=[("n", 1)], limit=1).next_cursor
    assert real is not None
    with pytest.raises(InvalidCursor, match="another sort"):
        store.find(C, sort=[("n", -1)], cursor=real)
    with pytest.raises(InvalidCursor):  # the right sort, but no `_id` where one belongs
        store.find(C, sort=[("n", 1)], cursor=Cursor(real.sort, (1, 2)))


@pytest.mark.parametrize("value", [MIN_INT64, MAX_INT64, -1e308, 1e308, "\u0000", True, None])
def test_any_value_a_cursor_may_hold_reaches_the_store_without_error(
    store: ReadStore, value: object
) -> None:
    seed(store)
    real = store.find(C, sort=[("n", 1)], limit=1).next_cursor
    assert real is not None
    forged = Cursor.decode(Cursor(real.sort, (value, "d05")).encode())
    page = store.find(C, sort=[("n", 1)], cursor=forged)
    assert all(isinstance(doc["n"], int) for doc in page.items)


def test_threads_can_write_and_read_at_the_same_time(store: ReadStore) -> None:
    def work(thread: int) -> int:
        for i in range(25):
            store.apply(C, [DocChange(f"t{thread}-{i}-{j}", 1, {"t": thread}) for j in range(2)])
            store.find(C, {"t": thread}, limit=5)
        return store.count(C, {"t": thread})

    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(work, range(4))) == [50, 50, 50, 50]
    assert store.count(C) == 200


# Each document's history: versions 1..n, each a set (a small doc) or a delete.
histories = st.dictionaries(
    st.sampled_from(["a", "b", "c", "d"]),
    st.lists(
        st.one_of(st.none(), st.fixed_dictionaries({"n": st.integers(0, 9)})),
        min_size=1,
        max_size=5,
    ),
    min_size=1,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(histories=histories, rnd=st.randoms(use_true_random=False))
def test_redelivered_changes_end_like_the_deduplicated_sequence_applied_once(
    store: ReadStore, histories: dict[str, list[dict[str, Any] | None]], rnd: random.Random
) -> None:
    events = {i: [DocChange(i, v, doc) for v, doc in enumerate(h, 1)] for i, h in histories.items()}
    # Per document: each event delivered once or more, in order, then some delivered
    # again later (a consumer restart, a zombie consumer); documents interleave freely.
    queues = {i: [e for e in es for _ in range(rnd.randint(1, 2))] for i, es in events.items()}
    for queue in queues.values():
        for _ in range(rnd.randint(0, 3)):
            j = rnd.randrange(len(queue))
            queue.insert(rnd.randint(j + 1, len(queue)), queue[j])
    stream = []
    while queues:
        i = rnd.choice(sorted(queues))
        stream.append(queues[i].pop(0))
        if not queues[i]:
            del queues[i]
    tag = uuid.uuid4().hex[:8]
    actual, once = f"actual_{tag}", f"once_{tag}"
    for n, start in enumerate(range(0, len(stream), 3), 1):
        store.apply(actual, stream[start : start + 3], Position(actual, n))
    store.apply(once, [e for es in events.values() for e in es])
    final = store.find(actual, limit=100).items
    assert final == store.find(once, limit=100).items
    last = {i: es[-1] for i, es in events.items()}
    model = [{**(e.doc or {}), "_id": i, "_version": e.version} for i, e in sorted(last.items())]
    assert final == [d for d in model if last[d["_id"]].doc is not None]
    assert store.position(actual) == -(-len(stream) // 3)


@pytest.fixture
def small_batch_mongo(mongo_url: str, unique_name: Callable[..., str]) -> Iterator[MongoReadStore]:
    database = unique_name("rs")
    mongo = MongoReadStore(mongo_url, database, write_batch=2)
    yield mongo
    mongo.close()
    client: MongoClient[Document] = MongoClient(mongo_url, serverSelectionTimeoutMS=5000)
    client.drop_database(database)
    client.close()


def test_mongo_keeps_the_version_guard_when_writing_over_stored_documents(
    small_batch_mongo: MongoReadStore,
) -> None:
    store = small_batch_mongo
    stored = {"a": 5, "b": 1, "d": 1, "e": 1}
    store.apply(C, [DocChange(i, v, {"v": v}) for i, v in stored.items()])
    # Writes go blind, as inserts first and then as guarded replacements in chunks of
    # two: only the newer versions may land, whatever is stored.
    late = {"b": 2, "a": 3, "d": 4, "e": 1, "c": 1}
    store.apply(C, [DocChange(i, v, {"v": v}) for i, v in late.items()])
    found = {d["_id"]: d["_version"] for d in store.find(C).items}
    assert found == {"a": 5, "b": 2, "c": 1, "d": 4, "e": 1}
