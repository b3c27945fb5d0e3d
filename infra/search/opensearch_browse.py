"""The request body of OpenSearchIndex.browse and the cursor made of its answer.

Documents also carry `_doc_id` (the final sort key: sorting on `_id` is deprecated)
and `_first.<keyword field>` (a keyword sort is by the first value; the engine's own
would take the smallest or largest). An index made before `browse` has neither: it
sorts on `_id` and on the whole keyword field until it is rebuilt.
"""

from __future__ import annotations

from typing import Any

from infra.search import Fields
from infra.search.browse_plan import MAX_FACET_VALUES, BrowsePlan, SortKey
from infra.search.opensearch_mapping import DELETED, DOC, DOC_ID, FIRST
from infra.search.opensearch_query import TAGS, filter_terms, highlight_fields, matching
from projections.ports import Browse, NumberRange


def browse_body(
    query: Browse, plan: BrowsePlan, fields: Fields, sort: list[dict[str, Any]]
) -> dict[str, Any]:
    """Text and ranges in `query`; keyword filters in `post_filter`, so that each facet's
    aggregation can apply every filter but its own field's (disjunctive facets)."""
    must = [{"bool": {"should": matching(" ".join(plan.terms), fields.text),
                      "minimum_should_match": 1}}] if plan.terms else []  # fmt: skip
    body: dict[str, Any] = {
        "size": query.limit + 1 if query.limit else 0,  # one more: is there a next page?
        "track_total_hits": True,
        "track_scores": True,
        "_source": [DOC],
        "query": {"bool": {"must": must, "filter": _ranges(query.ranges),
                           "must_not": [{"term": {DELETED: True}}]}},
        "post_filter": {"bool": {"filter": filter_terms(query.filters)}},
        "sort": sort,
        "aggs": {name: _facet(name, query.filters) for name in query.facets},
    }  # fmt: skip
    if plan.after is not None:
        body["search_after"] = _search_after(plan.keys, plan.after)
    if plan.terms:
        body["highlight"] = {**TAGS, "fields": highlight_fields(fields.text)}
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
    without_own = {"bool": {"filter": filter_terms(others)}}
    return {"filter": without_own, "aggs": {"values": {"terms": terms}}}


def buckets(aggregation: dict[str, Any]) -> dict[str, int]:
    return {b["key"]: b["doc_count"] for b in aggregation["values"]["buckets"]}


def sort_clauses(keys: list[SortKey], legacy: bool) -> list[dict[str, Any]]:
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


def cursor_values(keys: list[SortKey], sort: list[Any]) -> list[Any]:
    values = [
        None if key.kind == "number" and value in _INFINITY.values() else value
        for key, value in zip(keys, sort, strict=False)
    ]
    return [*values, sort[-1]]
