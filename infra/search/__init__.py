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
- `browse` checks its query and pages with one cursor format on both: see browse_plan.

Where they differ: OpenSearch forgives a typo (fuzziness AUTO); FTS5 has no fuzzy
matching, so the embedded profile finds partial words but not misspelt ones.

Each adapter module holds its class; the SQL or request bodies it builds live beside
it (sqlite_tables, sqlite_query, sqlite_browse; opensearch_mapping, opensearch_query,
opensearch_browse).
"""

from __future__ import annotations

import html
import math
import re
from dataclasses import dataclass, field
from typing import Any

from domain.errors import Unavailable

MAX_TERMS = 16  # bounds the work one query can ask for (fuzzy expansions, FTS5 phrases)
_NAME = re.compile(r"[a-z0-9_]{1,100}")
_FIELD = re.compile(r"[a-z][a-z0-9_]{0,63}")
_WORD = re.compile(r"[^\W_]+")  # letters and digits, like FTS5's unicode61 tokenizer
# Both engines mark matches with these; `highlight` escapes the text, then swaps them for <em>.
# Private-use characters (stripped from indexed text): OpenSearch trims control characters
# such as \x02 off the ends of a fragment.
MARK_ON, MARK_OFF = "\ue000", "\ue001"


class IndexNotFound(LookupError):
    """The index was never ensured, or was dropped."""


class SearchUnavailable(Unavailable):
    """The engine cannot be reached or answers 5xx, or its breaker is open."""

    code = "search_unavailable"


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
