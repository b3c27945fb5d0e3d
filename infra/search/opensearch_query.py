"""The query pieces of search, which browse shares: text matching, keyword filters,
highlights, and hits made of the engine's answer."""

from __future__ import annotations

from typing import Any

from infra.search import MARK_OFF, MARK_ON, highlight, keyword_values
from infra.search.opensearch_mapping import DELETED, DOC
from projections.ports import SearchHit

# Our own markers, not <em>: `highlight` escapes the text the same way on both engines.
TAGS = {"pre_tags": [MARK_ON], "post_tags": [MARK_OFF]}


def search_query(text: str, text_fields: list[str], filters: dict[str, Any]) -> dict[str, Any]:
    return {
        "bool": {
            "should": matching(text, text_fields),
            "minimum_should_match": 1,
            "filter": filter_terms(filters),
            "must_not": [{"term": {DELETED: True}}],
        }
    }


def filter_terms(filters: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"terms": {name: keyword_values(v)}} for name, v in sorted(filters.items())]


def matching(text: str, text_fields: list[str]) -> list[dict[str, Any]]:
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


def highlight_fields(text_fields: list[str]) -> dict[str, Any]:
    return {name: {} for field in text_fields for name in (field, f"{field}.plain")}


def hit_of(hit: dict[str, Any], text_fields: list[str]) -> SearchHit:
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
