"""The SearchIndex contract, run on SQLite FTS5 and on the real OpenSearch alike."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
from opensearchpy import OpenSearch

from infra.search import IndexNotFound, SearchIndexError
from infra.search.opensearch import OpenSearchIndex
from infra.search.sqlite_fts import SqliteSearchIndex
from projections.ports import DocChange, SearchIndex

TEXT = ["name", "description", "tags"]
KEYWORDS = ["kind", "owner"]


def model(name: str, description: str = "", **extra: Any) -> dict[str, Any]:
    return {"name": name, "description": description, "tags": [], "kind": "model",
            "owner": "alice", **extra}  # fmt: skip


@dataclass
class Indexes:
    engine: SearchIndex
    backend: str
    new_name: Callable[..., str]
    made: list[str] = field(default_factory=list)

    def new(self) -> str:
        name = self.new_name("search")
        self.engine.ensure(name, TEXT, KEYWORDS)
        self.made.append(name)
        return name

    def put(self, index: str, *changes: tuple[str, int, dict[str, Any] | None]) -> None:
        self.engine.apply(index, [DocChange(i, v, d) for i, v, d in changes])
        self.engine.refresh(index)

    def ids(self, index: str, query: str, **filters: Any) -> list[str]:
        return [hit.doc_id for hit in self.engine.search(index, query, filters or None)]


Kind = TypeVar("Kind", bound=Indexes)


def open_indexes(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path, kind: type[Kind]
) -> Iterator[Kind]:
    """One engine for a test, and every index it made dropped afterwards."""
    engine: SqliteSearchIndex | OpenSearchIndex
    if backend == "sqlite":
        engine = SqliteSearchIndex(tmp_path / "search.db")
    else:
        engine = OpenSearchIndex(request.getfixturevalue("opensearch_url"))
    made = kind(engine, backend, request.getfixturevalue("unique_name"))
    yield made
    for name in made.made:
        engine.drop(name)
    engine.close()


@pytest.fixture(
    params=["sqlite", pytest.param("opensearch", marks=pytest.mark.services("opensearch"))]
)
def indexes(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Indexes]:
    yield from open_indexes(request.param, request, tmp_path, Indexes)


@pytest.fixture
def sqlite_indexes(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Indexes]:
    yield from open_indexes("sqlite", request, tmp_path, Indexes)


@pytest.fixture
def opensearch_indexes(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Indexes]:
    yield from open_indexes("opensearch", request, tmp_path, Indexes)


def fill_catalogue(indexes: Indexes) -> str:
    index = indexes.new()
    indexes.put(
        index,
        ("m1", 1, model("Sentiment classifier", "A classifier of review sentiment",
                        tags=["nlp", "english"], kind="model", owner="alice")),
        ("m2", 1, model("Image captioner", "Writes captions; a classifier runs first",
                        kind="model", owner="bob")),
        ("m3", 1, model("Running coach", "Plans your running week", kind="dataset", owner="bob")),
        ("m4", 1, model("Speech to text", "Transcribes meetings", owner="carol")),
        ("m5", 1, model("Translator", "German to French", owner="carol")),
    )  # fmt: skip
    return index


@pytest.fixture
def catalogue(indexes: Indexes) -> str:
    return fill_catalogue(indexes)


def test_a_matching_document_is_found_and_others_are_not(indexes: Indexes, catalogue: str) -> None:
    assert indexes.ids(catalogue, "captioner") == ["m2"]
    assert indexes.ids(catalogue, "submarine") == []


def test_every_word_of_the_query_must_match_somewhere_in_the_document(
    indexes: Indexes, catalogue: str
) -> None:
    assert indexes.ids(catalogue, "sentiment english") == ["m1"]  # name and tags
    assert indexes.ids(catalogue, "sentiment captions") == []


def test_a_document_naming_the_term_twice_ranks_above_one_mentioning_it_once(
    indexes: Indexes, catalogue: str
) -> None:
    hits = indexes.engine.search(catalogue, "classifier")
    assert [hit.doc_id for hit in hits] == ["m1", "m2"]
    assert hits[0].score > hits[1].score


def test_a_partly_typed_word_finds_the_whole_word(indexes: Indexes, catalogue: str) -> None:
    assert indexes.ids(catalogue, "classif") == ["m1", "m2"]
    assert indexes.ids(catalogue, "image capt") == ["m2"]
    assert indexes.ids(catalogue, "runni") == ["m3"]  # a stemmer would make this "runni"


def test_another_form_of_a_word_finds_it(indexes: Indexes, catalogue: str) -> None:
    assert indexes.ids(catalogue, "classifiers reviews") == ["m1"]


def test_a_keyword_filter_narrows_the_results(indexes: Indexes, catalogue: str) -> None:
    assert indexes.ids(catalogue, "classifier", owner="bob") == ["m2"]
    assert indexes.ids(catalogue, "coach", kind="model") == []
    assert sorted(indexes.ids(catalogue, "trans", owner=["carol", "dave"])) == ["m4", "m5"]
    assert indexes.ids(catalogue, "trans", owner=[]) == []


def test_a_filter_on_an_undeclared_field_is_refused(indexes: Indexes, catalogue: str) -> None:
    with pytest.raises(ValueError, match="price"):
        indexes.engine.search(catalogue, "classifier", {"price": 3})


def test_highlights_wrap_the_matched_term_in_em(indexes: Indexes, catalogue: str) -> None:
    (hit,) = indexes.engine.search(catalogue, "captioner")
    assert hit.highlights["name"] == ["Image <em>captioner</em>"]
    prefix_hit = indexes.engine.search(catalogue, "capt")[0]
    assert "<em>captioner</em>" in prefix_hit.highlights["name"][0]


def test_highlights_escape_the_documents_own_markup(indexes: Indexes) -> None:
    index = indexes.new()
    indexes.put(index, ("x", 1, model("Tagger", "Reads <b>bold</b> text")))
    (hit,) = indexes.engine.search(index, "bold")
    assert hit.highlights["description"] == ["Reads &lt;b&gt;<em>bold</em>&lt;/b&gt; text"]


def test_a_hit_carries_the_document_as_it_was_given(indexes: Indexes) -> None:
    index = indexes.new()
    doc = model("Embedder", price={"amount": 500, "currency": "EUR"}, _id="e", _version=3)
    indexes.put(index, ("e", 3, doc))
    assert [hit.doc for hit in indexes.engine.search(index, "embedder")] == [doc]


def test_a_newer_version_replaces_the_document(indexes: Indexes, catalogue: str) -> None:
    indexes.put(catalogue, ("m5", 2, model("Interpreter", "Spanish to Italian", owner="carol")))
    assert indexes.ids(catalogue, "translator") == []
    assert [h.doc["name"] for h in indexes.engine.search(catalogue, "interpreter")] == [
        "Interpreter"
    ]


def test_an_older_or_equal_version_is_ignored(indexes: Indexes, catalogue: str) -> None:
    indexes.put(catalogue, ("m9", 5, model("Summarizer")))
    indexes.put(catalogue, ("m9", 4, model("Older")), ("m9", 5, model("Same version")))
    assert indexes.ids(catalogue, "older") == indexes.ids(catalogue, "same") == []
    assert indexes.ids(catalogue, "summarizer") == ["m9"]


def test_one_batch_keeps_the_newest_change_whatever_its_order(indexes: Indexes) -> None:
    index = indexes.new()
    indexes.put(index, ("d", 3, model("Third")), ("d", 1, model("First")), ("d", 2, None))
    assert indexes.ids(index, "third") == ["d"]
    assert indexes.ids(index, "first") == []


def test_a_delete_removes_and_an_older_redelivery_does_not_bring_it_back(
    indexes: Indexes, catalogue: str
) -> None:
    indexes.put(catalogue, ("m4", 2, None))
    assert indexes.ids(catalogue, "speech") == []
    indexes.put(catalogue, ("m4", 1, model("Speech to text", owner="carol")))
    assert indexes.ids(catalogue, "speech") == []
    indexes.put(catalogue, ("m4", 3, model("Speech to text", owner="carol")))
    assert indexes.ids(catalogue, "speech") == ["m4"]


HOSTILE = ['"', "*", "AND OR NOT", "(", "NEAR(", "-", ":", "name:classifier", "classif*",
           "🤖", "^", "a\x00b", "x" * 1000, " ".join(["classifier"] * 200), "", "   "]  # fmt: skip


@pytest.mark.parametrize("query", HOSTILE)
def test_no_query_text_makes_search_raise(indexes: Indexes, catalogue: str, query: str) -> None:
    hits = indexes.engine.search(catalogue, query)
    assert isinstance(hits, list)
    assert {hit.doc_id for hit in hits} <= {"m1", "m2"}


def test_replace_serves_the_target_from_the_source(indexes: Indexes, catalogue: str) -> None:
    rebuilt = indexes.new()
    indexes.put(rebuilt, ("n1", 1, model("Fresh detector")))
    indexes.engine.replace(catalogue, rebuilt)
    indexes.engine.refresh(catalogue)
    assert indexes.ids(catalogue, "detector") == ["n1"]
    assert indexes.ids(catalogue, "classifier") == []
    with pytest.raises(IndexNotFound):
        indexes.engine.search(rebuilt, "detector")


def test_ensure_is_idempotent_and_refuses_other_fields(indexes: Indexes, catalogue: str) -> None:
    indexes.engine.ensure(catalogue, TEXT, KEYWORDS)
    assert indexes.ids(catalogue, "captioner") == ["m2"]
    with pytest.raises(ValueError, match="other fields"):
        indexes.engine.ensure(catalogue, ["name"], KEYWORDS)


def test_an_unknown_or_dropped_index_is_reported(indexes: Indexes, catalogue: str) -> None:
    indexes.engine.drop(catalogue)
    with pytest.raises(IndexNotFound):
        indexes.engine.search(catalogue, "classifier")
    with pytest.raises(IndexNotFound):
        indexes.engine.apply(catalogue, [DocChange("z", 1, model("Z"))])


@pytest.mark.services("opensearch")
def test_opensearch_forgives_a_one_letter_typo(opensearch_indexes: Indexes) -> None:
    catalogue = fill_catalogue(opensearch_indexes)
    assert opensearch_indexes.ids(catalogue, "clasifier") == ["m1", "m2"]


def test_sqlite_finds_partly_typed_words_but_not_misspelt_ones(sqlite_indexes: Indexes) -> None:
    catalogue = fill_catalogue(sqlite_indexes)
    assert sqlite_indexes.ids(catalogue, "classif") == ["m1", "m2"]
    # FTS5 has no fuzzy matching: the embedded profile does not forgive typos.
    assert sqlite_indexes.ids(catalogue, "clasifier") == []
    assert sqlite_indexes.ids(catalogue, "clasif") == []


@pytest.mark.services("opensearch")
def test_opensearch_serves_an_index_through_an_alias_without_replicas(
    opensearch_indexes: Indexes, opensearch_url: str
) -> None:
    index = opensearch_indexes.new()
    client = OpenSearch(hosts=[opensearch_url], timeout=5)
    try:
        (physical,) = client.indices.get_alias(name=f"aimarket_{index}")
        health = client.cluster.health(index=physical)
        assert physical.startswith(f"aimarket_{index}-")
        assert health["status"] == "green"
    finally:
        client.close()


@pytest.mark.services("opensearch")
def test_opensearch_raises_when_the_engine_refuses_a_write(
    opensearch_indexes: Indexes, opensearch_url: str
) -> None:
    index = opensearch_indexes.new()
    client = OpenSearch(hosts=[opensearch_url], timeout=5)
    blocked = {"index.blocks.write": True}
    client.indices.put_settings(index=f"aimarket_{index}", body=blocked)
    try:
        with pytest.raises(SearchIndexError, match="cluster_block_exception"):
            opensearch_indexes.engine.apply(index, [DocChange("a", 1, model("Anything"))])
    finally:
        client.indices.put_settings(index=f"aimarket_{index}", body={"index.blocks.write": False})
        client.close()
