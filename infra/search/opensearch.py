"""SearchIndex on OpenSearch (the cluster profile), with opensearch-py.

An index `x` is served by the alias `<prefix>_x` over one physical index
`<prefix>_x-<8 hex>` ('-' cannot occur in our index names, so a physical name
never collides with another index's alias); `replace` moves the alias in one
atomic _aliases call that also deletes the old physical index.

"Newer wins" is the engine's: every write is indexed with `version_type=external`
and the aggregate version, and a version conflict means what is stored is as new
or newer. A delete indexes a tombstone (no text, `_deleted: true`) instead of
deleting: OpenSearch forgets real deletes after `index.gc_deletes` (60 s), after
which an older redelivered write would bring the document back.

Documents also carry `_doc_id` (the final sort key: sorting on `_id` is deprecated)
and `_first.<keyword field>` (a keyword sort is by the first value; the engine's own
would take the smallest or largest). An index made before `browse` has neither: it
sorts on `_id` and on the whole keyword field until it is rebuilt.
"""

from __future__ import annotations

import contextlib
import uuid
from typing import Any, NamedTuple

from opensearchpy import NotFoundError, OpenSearch

from infra.search import (
    MARK_OFF,
    MARK_ON,
    MAX_FACET_VALUES,
    BrowsePlan,
    Fields,
    IndexNotFound,
    SearchIndexError,
    SortKey,
    check_fields,
    check_index_name,
    encode_cursor,
    highlight,
    keyword_values,
    number_value,
    plan_browse,
    query_terms,
    text_value,
)
from projections.ports import Browse, BrowseResult, DocChange, NumberRange, SearchHit

# Our own fields; declared fields start with a letter.
DOC, DELETED, DOC_ID, FIRST = "_document", "_deleted", "_doc_id", "_first"
# Our own markers, not <em>: `highlight` escapes the text the same way on both engines.
_TAGS = {"pre_tags": [MARK_ON], "post_tags": [MARK_OFF]}


class _Schema(NamedTuple):
    fields: Fields
    legacy: bool  # made before browse: no _doc_id nor _first


class OpenSearchIndex:
    def __init__(self, url: str, prefix: str = "aimarket", timeout_s: float = 5.0) -> None:
        self._prefix = check_index_name(prefix)
        # The client-wide timeout applies to every call; no retry after a timeout.
        self._client = OpenSearch(hosts=[url], timeout=timeout_s, retry_on_timeout=False)
        self._fields_of: dict[str, _Schema] = {}

    def close(self) -> None:
        self._client.close()

    def _alias(self, index: str) -> str:
        return f"{self._prefix}_{check_index_name(index)}"

    def _physical(self, index: str) -> list[str]:
        # _cat answers [] for a missing alias where _alias answers 404 (logged as a warning).
        rows = self._client.cat.aliases(name=self._alias(index), format="json")
        return sorted({row["index"] for row in rows})

    def _schema(self, index: str) -> _Schema:
        if index not in self._fields_of:
            try:
                mappings = self._client.indices.get_mapping(index=self._alias(index))
            except NotFoundError:
                raise IndexNotFound(index) from None
            mapping = next(iter(mappings.values()))["mappings"]
            meta = mapping["_meta"]
            fields = Fields(
                meta["text_fields"], meta["keyword_fields"], meta.get("numeric_fields", [])
            )
            legacy = DOC_ID not in mapping.get("properties", {})
            self._fields_of[index] = _Schema(fields, legacy)
        return self._fields_of[index]

    def _fields(self, index: str) -> Fields:
        return self._schema(index).fields

    def ensure(
        self,
        index: str,
        text_fields: list[str],
        keyword_fields: list[str],
        numeric_fields: list[str] | None = None,
    ) -> None:
        fields = check_fields(text_fields, keyword_fields, numeric_fields)
        alias = self._alias(index)
        if not self._physical(index):
            body = _index_body(alias, fields)
            self._client.indices.create(index=f"{alias}-{uuid.uuid4().hex[:8]}", body=body)
            # Two processes ensuring at once each make one; both keep the first by name.
            self._delete(self._physical(index)[1:])
        self._fields_of.pop(index, None)
        existing = self._fields(index)
        if existing != fields:
            raise ValueError(f"index {index} exists with other fields: {existing}")

    def apply(self, index: str, changes: list[DocChange]) -> None:
        if not changes:
            return
        schema = self._schema(index)
        body: list[dict[str, Any]] = []
        for change in changes:
            meta = {"_id": change.doc_id, "version": change.version, "version_type": "external"}
            body.append({"index": {"_index": self._alias(index), **meta}})
            body.append(_source(change, schema))
        response = self._client.bulk(body=body)
        if response["errors"]:
            _raise_unless_outdated(response["items"])

    def search(
        self, index: str, query: str, filters: dict[str, Any] | None = None, limit: int = 20
    ) -> list[SearchHit]:
        fields = self._fields(index)
        terms = query_terms(query)
        if not terms or limit <= 0:
            return []
        unknown = set(filters or {}) - set(fields.keyword)
        if unknown:
            raise ValueError(f"not keyword fields of {index}: {sorted(unknown)}")
        body = {
            "size": limit,
            "_source": [DOC],
            "query": _query(" ".join(terms), fields.text, filters or {}),
            "highlight": {**_TAGS, "fields": _highlight_fields(fields.text)},
        }
        response = self._search(index, body)
        return [_hit(hit, fields.text) for hit in response["hits"]["hits"]]

    def browse(self, index: str, query: Browse) -> BrowseResult:
        schema = self._schema(index)
        plan = plan_browse(query, schema.fields)
        sort = _sort(plan.keys, schema.legacy)
        response = self._search(index, _browse_body(query, plan, schema.fields, sort))
        found = response["hits"]["hits"]
        page = found[: query.limit]
        cursor = None
        if len(found) > len(page):
            cursor = encode_cursor(plan.keys, _cursor_values(plan.keys, page[-1]["sort"]))
        aggregations = response.get("aggregations", {})
        return BrowseResult(
            hits=[_hit(hit, schema.fields.text) for hit in page],
            total=response["hits"]["total"]["value"],
            facets={name: _buckets(aggregations[name]) for name in query.facets},
            next_cursor=cursor,
        )

    def _search(self, index: str, body: dict[str, Any]) -> dict[str, Any]:
        try:
            response: dict[str, Any] = self._client.search(index=self._alias(index), body=body)
        except NotFoundError:
            raise IndexNotFound(index) from None
        return response

    def refresh(self, index: str) -> None:
        try:
            self._client.indices.refresh(index=self._alias(index))
        except NotFoundError:
            raise IndexNotFound(index) from None

    def drop(self, index: str) -> None:
        self._delete(self._physical(index))
        self._fields_of.pop(index, None)

    def _delete(self, physical: list[str]) -> None:
        for name in physical:
            with contextlib.suppress(NotFoundError):  # someone else deleted it first
                self._client.indices.delete(index=name)

    def replace(self, target: str, source: str) -> None:
        if target == source:
            raise ValueError("replace needs two different indexes")
        sources, targets = self._physical(source), self._physical(target)
        if not sources:
            raise IndexNotFound(source)
        old, new = self._alias(source), self._alias(target)
        actions: list[dict[str, Any]] = [
            *({"remove": {"index": p, "alias": old}} for p in sources),
            *({"add": {"index": p, "alias": new}} for p in sources),
            *({"remove_index": {"index": p}} for p in targets),
        ]
        self._client.indices.update_aliases(body={"actions": actions})
        self._fields_of.pop(source, None)
        self._fields_of.pop(target, None)


def _index_body(alias: str, fields: Fields) -> dict[str, Any]:
    # english: stemmed matching ("classifiers" finds "classifier"); the unstemmed
    # `.plain` subfield serves prefix matching, which a stemmed partial word would miss.
    text = {"type": "text", "analyzer": "english", "fields": {"plain": {"type": "text"}}}
    keyword = {"type": "keyword"}
    properties: dict[str, Any] = {
        **{field: text for field in fields.text},
        **{field: keyword for field in fields.keyword},
        **{field: {"type": "double"} for field in fields.numeric},
        DOC: {"type": "object", "enabled": False},  # returned, never indexed
        DELETED: {"type": "boolean"},
        DOC_ID: keyword,
        FIRST: {"properties": {field: keyword for field in fields.keyword}},
    }
    meta = {"text_fields": fields.text, "keyword_fields": fields.keyword,
            "numeric_fields": fields.numeric}  # fmt: skip
    return {
        # One node: a replica could never be placed and the cluster would stay yellow.
        "settings": {"number_of_shards": 1, "number_of_replicas": 0},
        "mappings": {
            "dynamic": "strict",
            "_meta": meta,
            "properties": properties,
        },
        "aliases": {alias: {}},
    }


def _source(change: DocChange, schema: _Schema) -> dict[str, Any]:
    doc, fields = change.doc, schema.fields
    if doc is None:
        return {DELETED: True}  # a tombstone: no text, so no query can match it
    keywords = {field: keyword_values(doc.get(field)) for field in fields.keyword}
    numbers = {field: number_value(doc.get(field)) for field in fields.numeric}
    source = {
        **{field: text_value(doc.get(field)) for field in fields.text},
        **keywords,
        **{field: number for field, number in numbers.items() if number is not None},
        DOC: doc,
    }
    if not schema.legacy:  # a legacy mapping is strict and knows neither field
        source[DOC_ID] = change.doc_id
        source[FIRST] = {field: values[0] for field, values in keywords.items() if values}
    return source


def _raise_unless_outdated(items: list[dict[str, Any]]) -> None:
    failed = [
        result
        for item in items
        for result in item.values()
        if "error" in result and result["error"].get("type") != "version_conflict_engine_exception"
    ]
    if failed:
        first = failed[0]
        raise SearchIndexError(f"{len(failed)} writes refused, first {first['_id']}: {first}")


def _query(text: str, text_fields: list[str], filters: dict[str, Any]) -> dict[str, Any]:
    return {
        "bool": {
            "should": _matching(text, text_fields),
            "minimum_should_match": 1,
            "filter": _terms(filters),
            "must_not": [{"term": {DELETED: True}}],
        }
    }


def _terms(filters: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"terms": {name: keyword_values(v)}} for name, v in sorted(filters.items())]


def _matching(text: str, text_fields: list[str]) -> list[dict[str, Any]]:
    plain = [f"{field}.plain" for field in text_fields]
    # Any of: every word in one field, forgiving a typo; every word somewhere across the
    # fields; every word in one field with the last one as a prefix (partly typed).
    fuzzy = {"fuzziness": "AUTO", "prefix_length": 1, "max_expansions": 10, "tie_breaker": 0.3}
    should: list[dict[str, Any]] = [
        {"multi_match": {"query": text, "fields": text_fields, "operator": "and", **fuzzy}},
        {"multi_match": {"query": text, "fields": text_fields, "type": "cross_fields",
                         "operator": "and"}},
        {"multi_match": {"query": text, "fields": plain, "type": "bool_prefix",
                         "operator": "and"}},
    ]  # fmt: skip
    return should


def _highlight_fields(text_fields: list[str]) -> dict[str, Any]:
    return {name: {} for field in text_fields for name in (field, f"{field}.plain")}


def _hit(hit: dict[str, Any], text_fields: list[str]) -> SearchHit:
    found = hit.get("highlight", {})
    highlights = {}
    for field in text_fields:
        # Prefix matches are marked on `.plain` only; prefer them, as SQLite does.
        fragments = found.get(f"{field}.plain") or found.get(field)
        if fragments:
            highlights[field] = [highlight(fragment) for fragment in fragments]
    return SearchHit(
        doc_id=hit["_id"],
        score=float(hit["_score"] or 0.0),  # no text: every hit scores 0
        doc=hit["_source"][DOC],
        highlights=highlights,
    )


def _browse_body(
    query: Browse, plan: BrowsePlan, fields: Fields, sort: list[dict[str, Any]]
) -> dict[str, Any]:
    """Text and ranges in `query`; keyword filters in `post_filter`, so that each facet's
    aggregation can apply every filter but its own field's (disjunctive facets)."""
    must = [{"bool": {"should": _matching(" ".join(plan.terms), fields.text),
                      "minimum_should_match": 1}}] if plan.terms else []  # fmt: skip
    body: dict[str, Any] = {
        "size": query.limit + 1 if query.limit else 0,  # one more: is there a next page?
        "track_total_hits": True,
        "track_scores": True,
        "_source": [DOC],
        "query": {"bool": {"must": must, "filter": _ranges(query.ranges),
                           "must_not": [{"term": {DELETED: True}}]}},
        "post_filter": {"bool": {"filter": _terms(query.filters)}},
        "sort": sort,
        "aggs": {name: _facet(name, query.filters) for name in query.facets},
    }  # fmt: skip
    if plan.after is not None:
        body["search_after"] = _search_after(plan.keys, plan.after)
    if plan.terms:
        body["highlight"] = {**_TAGS, "fields": _highlight_fields(fields.text)}
    return body


def _ranges(ranges: tuple[NumberRange, ...]) -> list[dict[str, Any]]:
    bounds = [(r.field, {"gte": r.gte, "lte": r.lte}) for r in ranges]
    return [
        {"range": {name: {op: float(v) for op, v in b.items() if v is not None}}}
        for name, b in bounds
        if any(v is not None for v in b.values())  # no bound: no restriction, as in SQLite
    ]


def _facet(name: str, filters: dict[str, Any]) -> dict[str, Any]:
    others = {field: values for field, values in filters.items() if field != name}
    order = [{"_count": "desc"}, {"_key": "asc"}]
    terms = {"field": name, "size": MAX_FACET_VALUES, "order": order}
    return {"filter": {"bool": {"filter": _terms(others)}}, "aggs": {"values": {"terms": terms}}}


def _buckets(aggregation: dict[str, Any]) -> dict[str, int]:
    return {b["key"]: b["doc_count"] for b in aggregation["values"]["buckets"]}


def _sort(keys: list[SortKey], legacy: bool) -> list[dict[str, Any]]:
    sort: list[dict[str, Any]] = []
    for key in keys:
        order = "asc" if key.order == 1 else "desc"
        if key.kind == "score":
            sort.append({"_score": order})
        else:
            name = key.field if legacy or key.kind == "number" else f"{FIRST}.{key.field}"
            sort.append({name: {"order": order, "missing": "_last"}})
    sort.append({"_id" if legacy else DOC_ID: "asc"})
    return sort


# The engine gives a missing number the sort value +-Infinity (as a string); a cursor
# holds None, as SQLite's does.
_INFINITY = {1: "Infinity", -1: "-Infinity"}


def _search_after(keys: list[SortKey], after: list[Any]) -> list[Any]:
    values = [
        _INFINITY[key.order] if value is None and key.kind == "number" else value
        for key, value in zip(keys, after, strict=False)
    ]
    return [*values, after[-1]]


def _cursor_values(keys: list[SortKey], sort: list[Any]) -> list[Any]:
    values = [
        None if key.kind == "number" and value in _INFINITY.values() else value
        for key, value in zip(keys, sort, strict=False)
    ]
    return [*values, sort[-1]]
