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
"""

from __future__ import annotations

import contextlib
import uuid
from typing import Any

from opensearchpy import NotFoundError, OpenSearch

from infra.search import (
    MARK_OFF,
    MARK_ON,
    IndexNotFound,
    SearchIndexError,
    check_fields,
    check_index_name,
    highlight,
    keyword_values,
    query_terms,
    text_value,
)
from projections.ports import DocChange, SearchHit

DOC, DELETED = "_document", "_deleted"  # our own fields; declared fields start with a letter
# Our own markers, not <em>: `highlight` escapes the text the same way on both engines.
_TAGS = {"pre_tags": [MARK_ON], "post_tags": [MARK_OFF]}


class OpenSearchIndex:
    def __init__(self, url: str, prefix: str = "aimarket", timeout_s: float = 5.0) -> None:
        self._prefix = check_index_name(prefix)
        # The client-wide timeout applies to every call; no retry after a timeout.
        self._client = OpenSearch(hosts=[url], timeout=timeout_s, retry_on_timeout=False)
        self._fields_of: dict[str, tuple[list[str], list[str]]] = {}

    def close(self) -> None:
        self._client.close()

    def _alias(self, index: str) -> str:
        return f"{self._prefix}_{check_index_name(index)}"

    def _physical(self, index: str) -> list[str]:
        # _cat answers [] for a missing alias where _alias answers 404 (logged as a warning).
        rows = self._client.cat.aliases(name=self._alias(index), format="json")
        return sorted({row["index"] for row in rows})

    def _fields(self, index: str) -> tuple[list[str], list[str]]:
        if index not in self._fields_of:
            try:
                mappings = self._client.indices.get_mapping(index=self._alias(index))
            except NotFoundError:
                raise IndexNotFound(index) from None
            meta = next(iter(mappings.values()))["mappings"]["_meta"]
            self._fields_of[index] = (meta["text_fields"], meta["keyword_fields"])
        return self._fields_of[index]

    def ensure(self, index: str, text_fields: list[str], keyword_fields: list[str]) -> None:
        check_fields(text_fields, keyword_fields)
        alias = self._alias(index)
        if not self._physical(index):
            body = _index_body(alias, text_fields, keyword_fields)
            self._client.indices.create(index=f"{alias}-{uuid.uuid4().hex[:8]}", body=body)
            # Two processes ensuring at once each make one; both keep the first by name.
            self._delete(self._physical(index)[1:])
        self._fields_of.pop(index, None)
        existing = self._fields(index)
        if existing != (text_fields, keyword_fields):
            raise ValueError(f"index {index} exists with other fields: {existing}")

    def apply(self, index: str, changes: list[DocChange]) -> None:
        if not changes:
            return
        text_fields, keyword_fields = self._fields(index)
        body: list[dict[str, Any]] = []
        for change in changes:
            meta = {"_id": change.doc_id, "version": change.version, "version_type": "external"}
            body.append({"index": {"_index": self._alias(index), **meta}})
            body.append(_source(change.doc, text_fields, keyword_fields))
        response = self._client.bulk(body=body)
        if response["errors"]:
            _raise_unless_outdated(response["items"])

    def search(
        self, index: str, query: str, filters: dict[str, Any] | None = None, limit: int = 20
    ) -> list[SearchHit]:
        text_fields, keyword_fields = self._fields(index)
        terms = query_terms(query)
        if not terms or limit <= 0:
            return []
        unknown = set(filters or {}) - set(keyword_fields)
        if unknown:
            raise ValueError(f"not keyword fields of {index}: {sorted(unknown)}")
        body = {
            "size": limit,
            "_source": [DOC],
            "query": _query(" ".join(terms), text_fields, filters or {}),
            "highlight": {**_TAGS, "fields": _highlight_fields(text_fields)},
        }
        try:
            response = self._client.search(index=self._alias(index), body=body)
        except NotFoundError:
            raise IndexNotFound(index) from None
        return [_hit(hit, text_fields) for hit in response["hits"]["hits"]]

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


def _index_body(alias: str, text_fields: list[str], keyword_fields: list[str]) -> dict[str, Any]:
    # english: stemmed matching ("classifiers" finds "classifier"); the unstemmed
    # `.plain` subfield serves prefix matching, which a stemmed partial word would miss.
    text = {"type": "text", "analyzer": "english", "fields": {"plain": {"type": "text"}}}
    properties: dict[str, Any] = {
        **{field: text for field in text_fields},
        **{field: {"type": "keyword"} for field in keyword_fields},
        DOC: {"type": "object", "enabled": False},  # returned, never indexed
        DELETED: {"type": "boolean"},
    }
    return {
        # One node: a replica could never be placed and the cluster would stay yellow.
        "settings": {"number_of_shards": 1, "number_of_replicas": 0},
        "mappings": {
            "dynamic": "strict",
            "_meta": {"text_fields": text_fields, "keyword_fields": keyword_fields},
            "properties": properties,
        },
        "aliases": {alias: {}},
    }


def _source(doc: dict[str, Any] | None, text_fields: list[str], kw: list[str]) -> dict[str, Any]:
    if doc is None:
        return {DELETED: True}  # a tombstone: no text, so no query can match it
    return {
        **{field: text_value(doc.get(field)) for field in text_fields},
        **{field: keyword_values(doc.get(field)) for field in kw},
        DOC: doc,
    }


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
    plain = [f"{field}.plain" for field in text_fields]
    # Any of: every word in one field, forgiving a typo; every word somewhere across the
    # fields; every word in one field with the last one as a prefix (partly typed).
    fuzzy = {"fuzziness": "AUTO", "prefix_length": 1, "max_expansions": 10, "tie_breaker": 0.3}
    should = [
        {"multi_match": {"query": text, "fields": text_fields, "operator": "and", **fuzzy}},
        {"multi_match": {"query": text, "fields": text_fields, "type": "cross_fields",
                         "operator": "and"}},
        {"multi_match": {"query": text, "fields": plain, "type": "bool_prefix",
                         "operator": "and"}},
    ]  # fmt: skip
    return {
        "bool": {
            "should": should,
            "minimum_should_match": 1,
            "filter": [{"terms": {name: keyword_values(v)}} for name, v in filters.items()],
            "must_not": [{"term": {DELETED: True}}],
        }
    }


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
        score=float(hit["_score"]),
        doc=hit["_source"][DOC],
        highlights=highlights,
    )
