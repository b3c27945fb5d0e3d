"""The read side's ports: a document store and a search index.

Both take changes in bulk and guard each write by the aggregate version the
document reflects: a change whose version is at or below the stored one is
dropped, so redelivered or replayed events are harmless. Adapters live in
infra/ (SQLite and MongoDB; SQLite FTS5 and OpenSearch).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from projections.cursor import Cursor

Document = dict[str, Any]


@dataclass(frozen=True)
class DocChange:
    """Set (`doc` given) or delete (`doc` None) one document, if `version` is newer."""

    doc_id: str
    version: int
    doc: Document | None


@dataclass(frozen=True)
class Position:
    """How far a projection has got: stored with its changes where the store allows."""

    name: str
    value: int


@dataclass(frozen=True)
class Page:
    items: list[Document]
    next_cursor: Cursor | None


@dataclass(frozen=True)
class SearchHit:
    doc_id: str
    score: float
    doc: Document
    highlights: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class NumberRange:
    """A numeric field between inclusive bounds; a missing bound does not restrict."""

    field: str
    gte: float | None = None
    lte: float | None = None


@dataclass(frozen=True)
class Browse:
    """One page of a catalogue: what matches, in which order, with which facet counts."""

    text: str = ""  # "" (or no word in it) = every document; else matched like search()
    filters: dict[str, list[str]] = field(default_factory=dict)  # any of the values; ANDed
    ranges: tuple[NumberRange, ...] = ()  # numeric fields
    sort: tuple[tuple[str, int], ...] = ()  # (field, 1 | -1); empty = relevance, else doc_id
    facets: tuple[str, ...] = ()  # keyword fields whose values are counted
    limit: int = 20  # 0..200
    cursor: Cursor | None = None  # from BrowseResult.next_cursor


@dataclass(frozen=True)
class BrowseResult:
    hits: list[SearchHit]
    total: int  # documents matching text, filters and ranges
    facets: dict[str, dict[str, int]]  # field -> value -> count
    next_cursor: Cursor | None  # None on the last page


class ReadStore(Protocol):
    """Collections of JSON documents keyed by `doc_id` (a string).

    Every stored document carries `_id` (= doc_id) and `_version` (the aggregate
    version it reflects); readers get them back as they are.
    """

    def get(self, collection: str, doc_id: str) -> Document | None: ...

    def get_many(self, collection: str, doc_ids: list[str]) -> dict[str, Document]:
        """The stored documents among `doc_ids`, by id, in one round trip."""
        ...

    def apply(
        self, collection: str, changes: list[DocChange], position: Position | None = None
    ) -> None:
        """Write the changes that are newer than what is stored, then record `position`.

        SQLite does both in one transaction; MongoDB writes the position after the bulk
        write (the version guard makes a replay after a crash harmless)."""
        ...

    def find(
        self,
        collection: str,
        where: dict[str, Any] | None = None,
        sort: list[tuple[str, int]] | None = None,
        limit: int = 50,
        cursor: Cursor | None = None,
    ) -> Page:
        """Documents whose top-level fields equal `where`'s values (a list value means
        "any of"), ordered by `sort` ([(field, 1 | -1)], `_id` breaks ties), in pages:
        pass the returned `next_cursor` back to get the next page."""
        ...

    def count(self, collection: str, where: dict[str, Any] | None = None) -> int: ...

    def position(self, name: str) -> int:
        """The last position recorded under `name`, 0 if none."""
        ...

    def positions(self, names: list[str]) -> dict[str, int]:
        """`position` of each of `names`, in one round trip."""
        ...

    def advance(self, positions: list[Position]) -> None:
        """Record each position that is newer than the one stored, in one round trip."""
        ...

    def drop(self, collection: str) -> None: ...

    def replace(self, target: str, source: str) -> None:
        """Atomically make `source`'s documents the content of `target` (rebuild swap);
        `source` no longer exists afterwards."""
        ...

    def collections(self, prefix: str = "") -> list[str]: ...


class SearchIndex(Protocol):
    """Full-text indexes of documents. Text fields are declared when an index is made."""

    def ensure(
        self,
        index: str,
        text_fields: list[str],
        keyword_fields: list[str],
        numeric_fields: list[str] | None = None,
    ) -> None:
        """Create the index if missing (idempotent). Text fields are searched; keyword
        fields are exact-match filters, facets and sort keys; numeric fields are numbers
        for ranges and sorts."""
        ...

    def apply(self, index: str, changes: list[DocChange]) -> None:
        """Index or delete documents, each only if its version is newer than the stored one."""
        ...

    def search(
        self, index: str, query: str, filters: dict[str, Any] | None = None, limit: int = 20
    ) -> list[SearchHit]:
        """Best matches first for `query` over the text fields, with highlights (matched
        terms wrapped in <em>...</em>), restricted to keyword `filters` (equality)."""
        ...

    def browse(self, index: str, query: Browse) -> BrowseResult:
        """A page of the documents matching `query`, the exact total and facet counts.

        Facets are disjunctive: the counts for field F ignore the filter on F itself.
        Sorts put a document missing the field last in either direction; doc_id breaks
        ties. Unknown fields, a bad limit or a malformed cursor raise ValueError."""
        ...

    def refresh(self, index: str) -> None:
        """Make everything applied so far searchable (a no-op where it already is)."""
        ...

    def drop(self, index: str) -> None: ...

    def replace(self, target: str, source: str) -> None:
        """Serve `target` from `source`'s content from now on (OpenSearch: alias swap)."""
        ...
