"""What both adapters' `browse` (see projections.ports.Browse) share.

`plan_browse` checks the query here, so both refuse the same mistakes (ValueError; a
cursor of another sort or shape is InvalidCursor, the caller's mistake),
and both use one cursor (projections.cursor): the sort values of the page's last hit,
then its doc_id (keyset pagination, relevance included).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from infra.search import Fields, number_value, query_terms
from projections.cursor import Cursor, InvalidCursor, sort_signature
from projections.ports import Browse

MAX_LIMIT = 200  # one browse page
MAX_FACET_VALUES = 50  # per facet, biggest counts first


@dataclass(frozen=True)
class SortKey:
    field: str
    kind: Literal["score", "keyword", "number"]
    order: int  # 1 ascending, -1 descending


RELEVANCE = SortKey("_score", "score", -1)


@dataclass(frozen=True)
class BrowsePlan:
    """A checked Browse: its words, its sort keys (doc_id is the implicit last one) and
    where the page starts (the cursor's values, one per key, then a doc_id)."""

    terms: list[str]
    keys: list[SortKey]
    after: list[Any] | None


def plan_browse(query: Browse, fields: Fields) -> BrowsePlan:
    """Check `query` against the index's fields; ValueError names what is wrong."""
    if not 0 <= query.limit <= MAX_LIMIT:
        raise ValueError(f"limit must be between 0 and {MAX_LIMIT}")
    _check_known("filter", query.filters, fields.keyword)
    _check_known("facet", query.facets, fields.keyword)
    _check_known("range", [r.field for r in query.ranges], fields.numeric)
    for bound in (b for r in query.ranges for b in (r.gte, r.lte) if b is not None):
        if number_value(bound) is None:
            raise ValueError(f"range bounds must be finite numbers, not {bound!r}")
    terms = query_terms(query.text)
    keys = _sort_keys(query.sort, fields) if query.sort else [RELEVANCE] if terms else []
    after = None if query.cursor is None else decode_cursor(query.cursor, keys)
    return BrowsePlan(terms, keys, after)


def _check_known(what: str, names: Any, known: list[str]) -> None:
    unknown = sorted(set(names) - set(known))
    if unknown:
        raise ValueError(f"cannot {what} on {unknown}: not among {known}")


def _sort_keys(sort: tuple[tuple[str, int], ...], fields: Fields) -> list[SortKey]:
    names = [name for name, _ in sort]
    _check_known("sort", names, [*fields.keyword, *fields.numeric])
    if len(set(names)) != len(names):
        raise ValueError(f"a field is sorted on twice: {names}")
    if any(order not in (1, -1) for _, order in sort):
        raise ValueError("a sort order is 1 (ascending) or -1 (descending)")
    return [
        SortKey(name, "number" if name in fields.numeric else "keyword", order)
        for name, order in sort
    ]


def _signature(keys: list[SortKey]) -> str:
    return sort_signature((key.field, key.order) for key in keys)


def encode_cursor(keys: list[SortKey], values: list[Any]) -> Cursor:
    """The cursor after a hit with these sort values (None: missing), then its doc_id."""
    return Cursor(_signature(keys), tuple(values))


def decode_cursor(cursor: Cursor, keys: list[SortKey]) -> list[Any]:
    values = cursor.values_for(_signature(keys), len(keys) + 1)
    if not all(map(_fits, [*keys, None], values)):
        raise InvalidCursor("this cursor is not one this listing gave; start without one")
    return values


def _fits(key: SortKey | None, value: Any) -> bool:
    if key is None:  # the doc_id
        return isinstance(value, str)
    if key.kind == "keyword":
        return value is None or isinstance(value, str)
    is_number = number_value(value) is not None and not isinstance(value, list)
    return is_number or (value is None and key.kind == "number")
