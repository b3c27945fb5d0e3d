"""SearchIndex.browse (the catalogue), run on SQLite FTS5 and on the real OpenSearch alike."""

from __future__ import annotations

import base64
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opensearchpy import OpenSearch

from infra.search.sqlite_fts import SqliteSearchIndex
from projections.cursor import Cursor, InvalidCursor
from projections.ports import Browse, BrowseResult, DocChange, NumberRange
from tests.integration.test_search_index import Indexes, open_indexes

TEXT = ["name", "description"]
KEYWORDS = ["kind", "owner", "tags"]
NUMBERS = ["price", "rating"]


def model(name: str, description: str = "", **extra: Any) -> dict[str, Any]:
    return {"name": name, "description": description, "kind": "model", "owner": "alice",
            "tags": [], **extra}  # fmt: skip


class Catalogues(Indexes):
    """Indexes with the catalogue's keyword and numeric fields."""

    def new(self) -> str:
        name = self.new_name("browse")
        self.engine.ensure(name, TEXT, KEYWORDS, NUMBERS)
        self.made.append(name)
        return name

    def browse(self, index: str, **query: Any) -> BrowseResult:
        return self.engine.browse(index, Browse(**query))

    def browse_ids(self, index: str, **query: Any) -> list[str]:
        return [hit.doc_id for hit in self.browse(index, **query).hits]

    def walk(self, index: str, **query: Any) -> list[str]:
        """Every page's ids in order, following next_cursor to the end."""
        ids: list[str] = []
        first = page = self.browse(index, **query)
        while True:
            assert (page.total, page.facets) == (first.total, first.facets)
            ids += [hit.doc_id for hit in page.hits]
            if page.next_cursor is None:
                return ids
            page = self.browse(index, **query, cursor=page.next_cursor)


@pytest.fixture(
    params=["sqlite", pytest.param("opensearch", marks=pytest.mark.services("opensearch"))]
)
def catalogues(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Catalogues]:
    yield from open_indexes(request.param, request, tmp_path, Catalogues)


@pytest.fixture
def opensearch_catalogues(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Catalogues]:
    yield from open_indexes("opensearch", request, tmp_path, Catalogues)


def fill(catalogues: Catalogues) -> str:
    index = catalogues.new()
    catalogues.put(
        index,
        ("m1", 1, model("Sentiment classifier", "A classifier of review sentiment",
                        tags=["nlp", "english"], price=5, rating=4.5)),
        ("m2", 1, model("Image captioner", "Writes captions; a classifier runs first",
                        owner="bob", tags=["vision", "nlp"], price=20, rating=4.0)),
        ("m3", 1, model("Running coach", "Plans your running week", kind="dataset",
                        owner="bob", tags=["sport"], price=0)),
        ("m4", 1, model("Speech to text", "Transcribes meetings", owner="carol",
                        tags=["audio", "english"], rating=3.5)),
        ("m5", 1, model("Translator", "German to French", owner="carol",
                        tags=["nlp", "german", "french"], price=12.5, rating=4.5)),
        ("m6", 1, model("Review corpus", "Product reviews", kind="dataset", price=5.0,
                        rating=2)),
    )  # fmt: skip
    return index


@pytest.fixture
def catalogue(catalogues: Catalogues) -> str:
    return fill(catalogues)


def test_browsing_without_text_lists_every_document_by_id(
    catalogues: Catalogues, catalogue: str
) -> None:
    result = catalogues.browse(catalogue)
    assert [hit.doc_id for hit in result.hits] == ["m1", "m2", "m3", "m4", "m5", "m6"]
    assert result.total == 6
    assert result.next_cursor is None
    assert result.hits[0].doc["name"] == "Sentiment classifier"
    assert catalogues.browse_ids(catalogue, text="?!") == catalogues.browse_ids(catalogue)


def test_a_filter_keeps_documents_with_any_of_its_values(
    catalogues: Catalogues, catalogue: str
) -> None:
    result = catalogues.browse(catalogue, filters={"owner": ["bob", "carol"]})
    assert [hit.doc_id for hit in result.hits] == ["m2", "m3", "m4", "m5"]
    assert result.total == 4
    assert catalogues.browse_ids(catalogue, filters={"owner": []}) == []


def test_filters_on_different_fields_must_all_hold(catalogues: Catalogues, catalogue: str) -> None:
    filters = {"owner": ["bob", "carol"], "kind": ["model"]}
    assert catalogues.browse_ids(catalogue, filters=filters) == ["m2", "m4", "m5"]


def test_a_list_valued_field_matches_on_any_of_its_values(
    catalogues: Catalogues, catalogue: str
) -> None:
    assert catalogues.browse_ids(catalogue, filters={"tags": ["english"]}) == ["m1", "m4"]
    assert catalogues.browse_ids(catalogue, filters={"tags": ["english", "german"]}) == [
        "m1",
        "m4",
        "m5",
    ]


def test_a_numeric_range_is_inclusive_and_leaves_out_documents_without_the_field(
    catalogues: Catalogues, catalogue: str
) -> None:
    between = (NumberRange("price", gte=5, lte=12.5),)
    assert catalogues.browse_ids(catalogue, ranges=between) == ["m1", "m5", "m6"]
    assert catalogues.browse_ids(catalogue, ranges=(NumberRange("price", gte=10),)) == ["m2", "m5"]
    both = (NumberRange("price", lte=10), NumberRange("rating", gte=4))
    assert catalogues.browse_ids(catalogue, ranges=both) == ["m1"]
    assert catalogues.browse(catalogue, ranges=(NumberRange("price"),)).total == 6


def test_a_sort_puts_documents_missing_the_field_last_in_both_directions(
    catalogues: Catalogues, catalogue: str
) -> None:
    ascending = catalogues.browse_ids(catalogue, sort=(("price", 1),))
    assert ascending == ["m3", "m1", "m6", "m5", "m2", "m4"]  # m1 and m6 tie: by id
    assert catalogues.browse_ids(catalogue, sort=(("price", -1),)) == [
        "m2",
        "m5",
        "m1",
        "m6",
        "m3",
        "m4",
    ]
    assert catalogues.browse_ids(catalogue, sort=(("rating", 1),))[-1] == "m3"
    assert catalogues.browse_ids(catalogue, sort=(("rating", -1),))[-1] == "m3"


def test_a_sort_on_several_keys_breaks_ties_in_order(
    catalogues: Catalogues, catalogue: str
) -> None:
    by_rating_then_price = (("rating", -1), ("price", 1))
    assert catalogues.browse_ids(catalogue, sort=by_rating_then_price) == [
        "m1", "m5", "m2", "m4", "m6", "m3"
    ]  # fmt: skip
    by_owner_then_price = (("owner", 1), ("price", -1))
    assert catalogues.browse_ids(catalogue, sort=by_owner_then_price) == [
        "m1", "m6", "m2", "m3", "m5", "m4"
    ]  # fmt: skip


def test_a_keyword_sort_uses_a_lists_first_value(catalogues: Catalogues, catalogue: str) -> None:
    # First tags: m1 nlp, m2 vision, m3 sport, m4 audio, m5 nlp, m6 none.
    assert catalogues.browse_ids(catalogue, sort=(("tags", 1),)) == [
        "m4",
        "m1",
        "m5",
        "m3",
        "m2",
        "m6",
    ]
    assert catalogues.browse_ids(catalogue, sort=(("tags", -1),)) == [
        "m2",
        "m3",
        "m1",
        "m5",
        "m4",
        "m6",
    ]


def test_text_without_a_sort_ranks_like_search_and_highlights_matches(
    catalogues: Catalogues, catalogue: str
) -> None:
    result = catalogues.browse(catalogue, text="classifier")
    searched = catalogues.engine.search(catalogue, "classifier")
    assert [hit.doc_id for hit in result.hits] == [hit.doc_id for hit in searched] == ["m1", "m2"]
    assert result.total == 2
    assert result.hits[0].score > result.hits[1].score
    (hit,) = catalogues.browse(catalogue, text="capt").hits
    assert "<em>captioner</em>" in hit.highlights["name"][0]
    assert catalogues.browse(catalogue).hits[0].highlights == {}


def test_text_combines_with_filters_ranges_and_a_sort(
    catalogues: Catalogues, catalogue: str
) -> None:
    sort = (("price", -1),)
    assert catalogues.browse_ids(catalogue, text="classif", sort=sort) == ["m2", "m1"]
    assert catalogues.browse_ids(catalogue, text="classifier", filters={"owner": ["bob"]}) == ["m2"]
    cheap = (NumberRange("price", lte=10),)
    assert catalogues.browse_ids(catalogue, text="classifier", ranges=cheap) == ["m1"]


def test_facets_count_every_filter_but_their_own_field(
    catalogues: Catalogues, catalogue: str
) -> None:
    result = catalogues.browse(
        catalogue, filters={"owner": ["bob"]}, facets=("owner", "kind", "tags")
    )
    assert result.total == 2
    assert list(result.facets["owner"].items()) == [("alice", 2), ("bob", 2), ("carol", 2)]
    assert list(result.facets["kind"].items()) == [("dataset", 1), ("model", 1)]
    assert list(result.facets["tags"].items()) == [("nlp", 1), ("sport", 1), ("vision", 1)]


def test_facets_follow_text_and_ranges_and_count_list_values_once_each(
    catalogues: Catalogues, catalogue: str
) -> None:
    result = catalogues.browse(catalogue, facets=("tags",), ranges=(NumberRange("price", gte=1),))
    assert list(result.facets["tags"].items()) == [
        ("nlp", 3), ("english", 1), ("french", 1), ("german", 1), ("vision", 1)
    ]  # fmt: skip
    by_text = catalogues.browse(catalogue, text="classifier", facets=("owner",), limit=0)
    assert by_text.facets == {"owner": {"alice": 1, "bob": 1}}
    assert by_text.hits == [] and by_text.total == 2 and by_text.next_cursor is None


def test_a_facet_gives_at_most_fifty_values_biggest_counts_first(catalogues: Catalogues) -> None:
    index = catalogues.new()
    catalogues.put(index, *((f"d{i}", 1, model("Item", owner=f"o{i % 55:02}")) for i in range(60)))
    counts = catalogues.browse(index, facets=("owner",)).facets["owner"]
    expected = [(f"o{i:02}", 2) for i in range(5)] + [(f"o{i:02}", 1) for i in range(5, 50)]
    assert list(counts.items()) == expected


def test_deleted_documents_are_neither_listed_nor_counted(
    catalogues: Catalogues, catalogue: str
) -> None:
    catalogues.put(catalogue, ("m2", 2, None))
    result = catalogues.browse(catalogue, facets=("owner",), sort=(("price", -1),))
    assert [hit.doc_id for hit in result.hits] == ["m5", "m1", "m6", "m3", "m4"]
    assert result.total == 5
    assert result.facets["owner"] == {"alice": 2, "bob": 1, "carol": 2}


SORTS = [(), (("price", 1),), (("price", -1),), (("rating", -1), ("price", 1)), (("tags", 1),),
         (("owner", -1), ("rating", 1))]  # fmt: skip


@pytest.mark.parametrize("sort", SORTS)
@pytest.mark.parametrize("limit", [1, 2, 4])
def test_following_cursors_returns_every_document_once_in_order(
    catalogues: Catalogues, catalogue: str, sort: tuple[tuple[str, int], ...], limit: int
) -> None:
    whole = catalogues.browse_ids(catalogue, sort=sort)
    assert catalogues.walk(catalogue, sort=sort, limit=limit) == whole
    assert sorted(whole) == ["m1", "m2", "m3", "m4", "m5", "m6"]


def many(count: int) -> list[tuple[str, int, dict[str, Any]]]:
    """Documents with many ties: repeated prices, missing values, equal text."""
    docs = []
    for i in range(count):
        words = " ".join(["model"] * (1 + i % 3))
        extra: dict[str, Any] = {"owner": ["alice", "bob", "carol"][i % 3], "tags": [f"t{i % 4}"]}
        if i % 5:
            extra["price"] = float(i % 4)
        docs.append((f"d{i:02}", 1, model(f"Item {words}", "a model", **extra)))
    return docs


@pytest.mark.parametrize("sort", [(), (("price", 1),), (("price", -1), ("owner", 1))])
def test_cursors_walk_a_larger_catalogue_also_by_relevance(
    catalogues: Catalogues, sort: tuple[tuple[str, int], ...]
) -> None:
    index = catalogues.new()
    catalogues.put(index, *many(45))
    for text in ("", "model"):
        whole = catalogues.browse_ids(index, text=text, sort=sort, limit=200)
        assert len(whole) == len(set(whole)) == 45
        assert catalogues.walk(index, text=text, sort=sort, limit=7) == whole
    ranked = catalogues.browse(index, text="model", limit=200).hits
    assert [h.score for h in ranked] == sorted((h.score for h in ranked), reverse=True)


def test_a_cursor_with_filters_pages_through_only_the_matches(catalogues: Catalogues) -> None:
    index = catalogues.new()
    catalogues.put(index, *many(30))
    query: dict[str, Any] = {"filters": {"owner": ["bob"]}, "sort": (("price", -1),)}
    walked = catalogues.walk(index, **query, limit=3)
    assert walked == catalogues.browse_ids(index, **query)
    assert len(walked) == catalogues.browse(index, **query).total == 10


def _encoded(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode()


@pytest.mark.parametrize(
    "cursor",
    ["", "garbage!", "x" * 5000, _encoded("not json"), _encoded("[]"), _encoded("{}"),
     _encoded('["00000000", 1, "m1"]'), _encoded("12")],
)  # fmt: skip
def test_a_malformed_cursor_is_refused_as_invalid_cursor(
    catalogues: Catalogues, catalogue: str, cursor: str
) -> None:
    with pytest.raises(InvalidCursor):
        catalogues.browse(catalogue, sort=(("price", 1),), cursor=Cursor.decode(cursor))


def test_a_cursor_with_values_of_the_wrong_type_or_another_sort_is_refused(
    catalogues: Catalogues, catalogue: str
) -> None:
    cursor = catalogues.browse(catalogue, sort=(("price", 1),), limit=2).next_cursor
    assert cursor is not None
    with pytest.raises(InvalidCursor, match="another sort"):
        catalogues.browse(catalogue, sort=(("price", -1),), cursor=cursor)
    for sort, values in [((("owner", 1),), '3,"m1"'), ((("price", 1),), '"5","m1"'),
                         ((("price", 1),), f'{"9" * 400},"m1"'), ((("price", 1),), '1,"m1",2'),
                         ((("price", 1),), "NaN,\"m1\""), ((), "null")]:  # fmt: skip
        real = catalogues.browse(catalogue, sort=sort, limit=2).next_cursor
        assert real is not None
        signature = json.dumps(real.sort)
        with pytest.raises(InvalidCursor):
            forged = Cursor.decode(_encoded(f"[{signature},{values}]"))
            catalogues.browse(catalogue, sort=sort, cursor=forged)


@pytest.mark.parametrize(
    "query",
    [{"filters": {"price": ["5"]}}, {"filters": {"name": ["x"]}}, {"facets": ("rating",)},
     {"ranges": (NumberRange("owner", gte=1),)}, {"sort": (("name", 1),)},
     {"sort": (("price", 0),)}, {"sort": (("price", 1), ("price", -1))}, {"limit": 201},
     {"limit": -1}, {"ranges": (NumberRange("price", gte=float("nan")),)}],
)  # fmt: skip
def test_unknown_fields_and_bad_arguments_are_refused_with_value_error(
    catalogues: Catalogues, catalogue: str, query: dict[str, Any]
) -> None:
    with pytest.raises(ValueError):
        catalogues.browse(catalogue, **query)


def test_ensure_refuses_other_numeric_fields(catalogues: Catalogues, catalogue: str) -> None:
    catalogues.engine.ensure(catalogue, TEXT, KEYWORDS, NUMBERS)
    with pytest.raises(ValueError, match="other fields"):
        catalogues.engine.ensure(catalogue, TEXT, KEYWORDS, ["price"])
    with pytest.raises(ValueError, match="declared twice"):
        catalogues.engine.ensure(catalogue, TEXT, KEYWORDS, ["owner"])


def test_a_value_that_is_not_a_number_counts_as_missing(catalogues: Catalogues) -> None:
    index = catalogues.new()
    catalogues.put(
        index,
        ("a", 1, model("A", price="12")), ("b", 1, model("B", price=True)),
        ("c", 1, model("C", price=[3, 9])), ("d", 1, model("D", price={"amount": 1})),
    )  # fmt: skip
    assert catalogues.browse_ids(index, ranges=(NumberRange("price", gte=0),)) == ["c"]
    assert catalogues.browse_ids(index, sort=(("price", -1),)) == ["c", "a", "b", "d"]


@pytest.mark.services("opensearch")
def test_opensearch_browse_forgives_a_misspelt_word(opensearch_catalogues: Catalogues) -> None:
    catalogue = fill(opensearch_catalogues)
    result = opensearch_catalogues.browse(catalogue, text="clasifier", facets=("owner",))
    assert [hit.doc_id for hit in result.hits] == ["m1", "m2"]
    assert result.facets["owner"] == {"alice": 1, "bob": 1}


def test_sqlite_ensure_and_browse_work_on_a_database_made_before_numeric_fields(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.db"
    engine = SqliteSearchIndex(path)
    engine.ensure("old", TEXT, KEYWORDS)
    engine.apply("old", [DocChange("a", 1, model("Alpha", owner="bob"))])
    engine.close()
    _strip_numeric_columns(path)
    engine = SqliteSearchIndex(path)
    try:
        engine.ensure("old", TEXT, KEYWORDS)
        engine.apply("old", [DocChange("b", 1, model("Beta", price=3))])
        result = engine.browse("old", Browse(facets=("owner",), sort=(("owner", 1),)))
        assert [hit.doc_id for hit in result.hits] == ["b", "a"]
        assert result.facets == {"owner": {"alice": 1, "bob": 1}}
        with pytest.raises(ValueError):
            engine.browse("old", Browse(ranges=(NumberRange("price", gte=1),)))
    finally:
        engine.close()


def test_sqlite_filters_and_facets_work_on_a_database_made_before_keyword_rows(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.db"
    engine = SqliteSearchIndex(path)
    engine.ensure("old", TEXT, KEYWORDS)
    engine.apply("old", [DocChange("a", 1, model("Alpha", owner="bob")),
                         DocChange("b", 1, model("Beta", owner="carol"))])  # fmt: skip
    engine.close()
    db = sqlite3.connect(path)
    db.execute('DROP TABLE "s:old:kw"')  # what the code before keyword rows made
    db.commit()
    db.close()
    engine = SqliteSearchIndex(path)
    try:
        result = engine.browse("old", Browse(filters={"owner": ["bob"]}, facets=("owner",)))
        assert [hit.doc_id for hit in result.hits] == ["a"]
        assert result.facets == {"owner": {"bob": 1, "carol": 1}}
    finally:
        engine.close()


def _strip_numeric_columns(path: Path) -> None:
    """What the code before numeric fields made: no numeric_fields, no numbers column."""
    db = sqlite3.connect(path)
    db.execute("ALTER TABLE search_indexes DROP COLUMN numeric_fields")
    db.execute('ALTER TABLE "s:old:docs" DROP COLUMN numbers')
    db.commit()
    db.close()


@pytest.mark.services("opensearch")
@pytest.mark.filterwarnings("ignore:Loading the fielddata on the _id field")
def test_opensearch_ensure_and_browse_work_on_an_index_made_before_numeric_fields(
    opensearch_catalogues: Catalogues, opensearch_url: str
) -> None:
    name = opensearch_catalogues.new_name("legacy")
    _create_legacy_index(opensearch_url, f"aimarket_{name}")
    opensearch_catalogues.made.append(name)
    engine = opensearch_catalogues.engine
    engine.ensure(name, TEXT, KEYWORDS)
    opensearch_catalogues.put(
        name, ("b", 1, model("Beta", owner="bob")), ("a", 1, model("Alpha model", owner="carol"))
    )
    result = engine.browse(name, Browse(facets=("owner",), limit=1))
    assert [hit.doc_id for hit in result.hits] == ["a"]
    assert result.total == 2 and result.facets == {"owner": {"bob": 1, "carol": 1}}
    assert opensearch_catalogues.walk(name, sort=(("owner", -1),), limit=1) == ["a", "b"]


def _create_legacy_index(url: str, alias: str) -> None:
    """The mapping the code before numeric fields made (no numeric_fields, _doc_id, _first)."""
    text = {"type": "text", "analyzer": "english", "fields": {"plain": {"type": "text"}}}
    properties = {**{f: text for f in TEXT}, **{f: {"type": "keyword"} for f in KEYWORDS},
                  "_document": {"type": "object", "enabled": False},
                  "_deleted": {"type": "boolean"}}  # fmt: skip
    mappings = {"dynamic": "strict", "properties": properties,
                "_meta": {"text_fields": TEXT, "keyword_fields": KEYWORDS}}  # fmt: skip
    settings = {"number_of_shards": 1, "number_of_replicas": 0}
    client = OpenSearch(hosts=[url], timeout=5)
    try:
        body = {"settings": settings, "mappings": mappings, "aliases": {alias: {}}}
        client.indices.create(index=f"{alias}-0legacy0", body=body)
    finally:
        client.close()
