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

The mapping and the documents written are in opensearch_mapping, the query pieces
that search and browse share in opensearch_query, and browse's own (aggregations,
sorts, search_after) in opensearch_browse.

Reads and writes go through the `opensearch` breaker (infra/resilience.py) and are retried
(bounded, jittered) while the engine is unreachable or answers 5xx: reads are safe to
repeat, and so are writes, which carry external versions. A 4xx (a missing index, a bad
query) counts for nothing. Index administration (ensure, drop, replace) is left bare.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from opensearchpy import ConnectionError as Unreachable
from opensearchpy import NotFoundError, OpenSearch, TransportError

from infra.resilience import BreakerOpen, BreakerPolicy, BreakerRegistry, RetryPolicy, retrying
from infra.search import (
    Fields,
    IndexNotFound,
    SearchIndexError,
    SearchUnavailable,
    check_fields,
    check_index_name,
    query_terms,
)
from infra.search.browse_plan import encode_cursor, plan_browse
from infra.search.opensearch_browse import browse_body, buckets, cursor_values, sort_clauses
from infra.search.opensearch_mapping import DOC, Schema, index_body, schema_of, source_of
from infra.search.opensearch_query import TAGS, highlight_fields, hit_of, search_query
from projections.ports import Browse, BrowseResult, DocChange, SearchHit

T = TypeVar("T")


def engine_failed(error: BaseException) -> bool:
    if isinstance(error, Unreachable):  # unreachable or timed out
        return True
    status = error.status_code if isinstance(error, TransportError) else None
    return isinstance(status, int) and status >= 500


class OpenSearchIndex:
    def __init__(
        self, url: str, prefix: str = "aimarket", timeout_s: float = 5.0,
        breakers: BreakerRegistry | None = None,
    ) -> None:  # fmt: skip
        self._prefix = check_index_name(prefix)
        breakers = breakers or BreakerRegistry(BreakerPolicy(), RetryPolicy())
        self.breaker, self._retry = breakers.get("opensearch", engine_failed), breakers.retry
        # The client-wide timeout applies to every call; the client itself never retries
        # (it would retry 502-504 and lost connections thrice): `_guarded` does, once.
        self._client = OpenSearch(
            hosts=[url], timeout=timeout_s, max_retries=0, retry_on_timeout=False
        )
        self._fields_of: dict[str, Schema] = {}

    def close(self) -> None:
        self._client.close()

    def ping(self) -> None:
        """A cheap call for /v1/ready, outside the breaker."""
        self._client.info()

    def _guarded(self, call: Callable[[], T]) -> T:
        try:
            return retrying(self.breaker, self._retry, call, engine_failed)
        except BreakerOpen as open_:
            raise SearchUnavailable(
                "search is failing; calls are paused for a moment",
                retry_after_s=open_.retry_after_s,
            ) from None
        except TransportError as error:
            if engine_failed(error):
                raise SearchUnavailable(f"search did not answer: {type(error).__name__}") from None
            raise

    @property
    def prefix(self) -> str:
        return self._prefix

    def _alias(self, index: str) -> str:
        return f"{self._prefix}_{check_index_name(index)}"

    def _physical(self, index: str) -> list[str]:
        # _cat answers [] for a missing alias where _alias answers 404 (logged as a warning).
        rows = self._client.cat.aliases(name=self._alias(index), format="json")
        return sorted({row["index"] for row in rows})

    def _schema(self, index: str) -> Schema:
        if index not in self._fields_of:
            try:
                alias = self._alias(index)
                mappings = self._guarded(lambda: self._client.indices.get_mapping(index=alias))
            except NotFoundError:
                raise IndexNotFound(index) from None
            self._fields_of[index] = schema_of(next(iter(mappings.values()))["mappings"])
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
            body = index_body(alias, fields)
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
            body.append(source_of(change, schema))
        response = self._guarded(lambda: self._client.bulk(body=body))
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
            "query": search_query(" ".join(terms), fields.text, filters or {}),
            "highlight": {**TAGS, "fields": highlight_fields(fields.text)},
        }
        response = self._search(index, body)
        return [hit_of(hit, fields.text) for hit in response["hits"]["hits"]]

    def browse(self, index: str, query: Browse) -> BrowseResult:
        schema = self._schema(index)
        plan = plan_browse(query, schema.fields)
        sort = sort_clauses(plan.keys, schema.legacy)
        response = self._search(index, browse_body(query, plan, schema.fields, sort))
        found = response["hits"]["hits"]
        page = found[: query.limit]
        cursor = None
        if len(found) > len(page):
            cursor = encode_cursor(plan.keys, cursor_values(plan.keys, page[-1]["sort"]))
        aggregations = response.get("aggregations", {})
        return BrowseResult(
            hits=[hit_of(hit, schema.fields.text) for hit in page],
            total=response["hits"]["total"]["value"],
            facets={name: buckets(aggregations[name]) for name in query.facets},
            next_cursor=cursor,
        )

    def _search(self, index: str, body: dict[str, Any]) -> dict[str, Any]:
        try:
            alias = self._alias(index)
            response: dict[str, Any] = self._guarded(
                lambda: self._client.search(index=alias, body=body)
            )
        except NotFoundError:
            raise IndexNotFound(index) from None
        return response

    def refresh(self, index: str) -> None:
        try:
            alias = self._alias(index)
            self._guarded(lambda: self._client.indices.refresh(index=alias))
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
