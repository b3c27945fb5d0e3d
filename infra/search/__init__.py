"""Search index adapters (projections.ports.SearchIndex) and what both share.

`sqlite_fts.SqliteSearchIndex` (embedded profile) and `opensearch.OpenSearchIndex`
(cluster profile) behave alike, and tests/integration/test_search_index.py holds
them to it. What both do the same way:

- Queries are split into plain word tokens here, so user input is never query
  syntax for either engine (no syntax errors, no 500s). Only the first
  `MAX_TERMS` tokens count; a query with no word in it finds nothing.
- Every token must match (AND); the last one also matches as a prefix, so a
  partly typed word finds its documents.
- Keyword fields are stored as strings; a filter value (or a list of them, "any
  of") is compared as a string too.
- Highlights are HTML-escaped text with the matched terms in <em>...</em>.

- Numeric fields hold one number (a list: its first item; anything else is missing).
- `browse` (see projections.ports.Browse) checks its query here, so both refuse the
  same mistakes with ValueError, and shares one cursor format: the sort values of
  the page's last hit, then its doc_id (keyset pagination, relevance included).

Where they differ: OpenSearch forgives a typo (fuzziness AUTO); FTS5 has no fuzzy
matching, so the embedded profile finds partial words but not misspelt ones.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import html
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from projections.ports import Browse

MAX_TERMS = 16  # bounds the work one query can ask for (fuzzy expansions, FTS5 phrases)
MAX_LIMIT = 200  # one browse page
MAX_FACET_VALUES = 50  # per facet, biggest counts first
_MAX_CURSOR = 4096  # characters; a real cursor is far shorter
_NAME = re.compile(r"[a-z0-9_]{1,100}")
_FIELD = re.compile(r"[a-z][a-z0-9_]{0,63}")
_WORD = re.compile(r"[^\W_]+")  # letters and digits, like FTS5's unicode61 tokenizer
# Both engines mark matches with these; `highlight` escapes the text, then swaps them for <em>.
# Private-use characters (stripped from indexed text): OpenSearch trims control characters
# such as \x02 off the ends of a fragment.
MARK_ON, MARK_OFF = "\ue000", "\ue001"


class IndexNotFound(LookupError):
    """The index was never ensured, or was dropped."""


class SearchIndexError(RuntimeError):
    """The engine refused a write for a reason other than an outdated version."""


def check_index_name(index: str) -> str:
    if not _NAME.fullmatch(index):
        raise ValueError(f"index name {index!r} must be 1-100 characters of [a-z0-9_]")
    return index


@dataclass(frozen=True)
class Fields:
    """The fields an index was made with."""

    text: list[str]
    keyword: list[str]
    numeric: list[str] = field(default_factory=list)


def check_fields(
    text_fields: list[str], keyword_fields: list[str], numeric_fields: list[str] | None = None
) -> Fields:
    fields = [*text_fields, *keyword_fields, *(numeric_fields or [])]
    bad = [f for f in fields if not _FIELD.fullmatch(f)]
    if bad:
        raise ValueError(f"field names must match [a-z][a-z0-9_]*: {bad}")
    if not text_fields:
        raise ValueError("an index needs at least one text field")
    if len(set(fields)) != len(fields):
        raise ValueError("a field is declared twice (text, keyword and numeric fields differ)")
    return Fields(list(text_fields), list(keyword_fields), list(numeric_fields or []))


def query_terms(query: str) -> list[str]:
    """The words of a user's query, at most MAX_TERMS, lower-cased."""
    return [word.lower() for word in _WORD.findall(query)[:MAX_TERMS]]


def text_value(value: Any) -> str:
    """What a document's text field contributes to the index (lists: their items)."""
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return " ".join(text_value(item) for item in value)
    return str(value).replace(MARK_ON, " ").replace(MARK_OFF, " ")


def highlight(fragment: str) -> str:
    """An engine's marked fragment as HTML: the text escaped, the matches in <em>."""
    return html.escape(fragment).replace(MARK_ON, "<em>").replace(MARK_OFF, "</em>")


def keyword_values(value: Any) -> list[str]:
    """A keyword field's value (or filter value) as the strings that are compared."""
    if value is None:
        return []
    if isinstance(value, list | tuple | set | frozenset):
        return [v for item in value for v in keyword_values(item)]
    if isinstance(value, bool):
        return ["true" if value else "false"]
    return [str(value)]


def number_value(value: Any) -> float | None:
    """A numeric field's value as stored: a finite number, else None (missing)."""
    if isinstance(value, list | tuple):
        return number_value(value[0]) if value else None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:  # an int beyond any double
        return None
    return number if math.isfinite(number) else None


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
    # A cursor only continues the sort it came from: its values mean nothing in another.
    spec = ",".join(f"{key.field}:{key.order}" for key in keys)
    return hashlib.sha256(spec.encode()).hexdigest()[:8]


def encode_cursor(keys: list[SortKey], values: list[Any]) -> str:
    """The cursor after a hit with these sort values (None: missing), then its doc_id."""
    raw = json.dumps([_signature(keys), *values], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, keys: list[SortKey]) -> list[Any]:
    try:
        if len(cursor) > _MAX_CURSOR:
            raise ValueError
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        decoded = json.loads(raw)
        signature, values = decoded[0], list(decoded[1:])
    except (ValueError, TypeError, KeyError, IndexError, binascii.Error):
        raise ValueError("malformed cursor") from None
    if signature != _signature(keys):
        raise ValueError("the cursor belongs to another sort order")
    if len(values) != len(keys) + 1 or not all(map(_fits, [*keys, None], values)):
        raise ValueError("malformed cursor")
    return values


def _fits(key: SortKey | None, value: Any) -> bool:
    if key is None:  # the doc_id
        return isinstance(value, str)
    if key.kind == "keyword":
        return value is None or isinstance(value, str)
    is_number = number_value(value) is not None and not isinstance(value, list)
    return is_number or (value is None and key.kind == "number")
