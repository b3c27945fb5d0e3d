"""What both read-store adapters share: names, stored documents, filters and cursors.

Keyset pagination is described once here, as an OR of branches (the i-th branch
ties the first i sort keys and passes key i), and each adapter translates it to
SQL or to a MongoDB filter. Missing and null values sort first ascending and
last descending in both SQLite and MongoDB, so the branches encode that order.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Literal

from projections.cursor import Cursor, InvalidCursor, sort_signature
from projections.ports import DocChange, Document

_COLLECTION = re.compile(r"[a-z0-9][a-z0-9_]{0,62}")
_FIELD = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
Scalar = str | int | float | bool | None


def check_collection(name: str) -> str:
    """Collection names become table and collection names: [a-z0-9_] only."""
    if not _COLLECTION.fullmatch(name):
        raise ValueError(f"invalid collection name {name!r}: use [a-z0-9_], 1-63 characters")
    return name


def check_field(name: str) -> str:
    """Field names go into SQL expressions and MongoDB filters: plain identifiers only."""
    if not _FIELD.fullmatch(name):
        raise ValueError(f"invalid field name {name!r}: use a top-level identifier")
    return name


def stored_doc(change: DocChange) -> Document:
    """The document as stored and returned: the change's fields plus `_id` and `_version`."""
    assert change.doc is not None
    return {**change.doc, "_id": change.doc_id, "_version": change.version}


def encode_json(doc: Document) -> str:
    """Documents are JSON: both adapters refuse what JSON cannot carry (NaN, objects)."""
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def newest_per_doc(changes: list[DocChange]) -> list[DocChange]:
    """One change per document: the highest version, the first one of equal versions
    (what applying them in order under the version guard would keep)."""
    newest: dict[str, DocChange] = {}
    for change in changes:
        kept = newest.get(change.doc_id)
        if kept is None or change.version > kept.version:
            newest[change.doc_id] = change
    return list(newest.values())


def where_items(where: dict[str, Any] | None) -> list[tuple[str, Scalar | list[Scalar]]]:
    """Validated equality filters; a list (or tuple) means "any of"."""
    items: list[tuple[str, Scalar | list[Scalar]]] = []
    for field, value in (where or {}).items():
        if isinstance(value, list | tuple):
            values = list(value)
            if not all(_is_scalar(v) for v in values):
                raise ValueError(f"filter {field!r}: only scalar values can be matched")
            items.append((check_field(field), values))
        elif _is_scalar(value):
            items.append((check_field(field), value))
        else:
            raise ValueError(f"filter {field!r}: only scalar values can be matched")
    return items


def _is_scalar(value: object) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def sort_order(sort: list[tuple[str, int]] | None) -> list[tuple[str, int]]:
    """The full order: the requested keys, then `_id` ascending to break ties."""
    order: list[tuple[str, int]] = []
    for field, direction in sort or []:
        if direction not in (1, -1):
            raise ValueError(f"sort {field!r}: direction must be 1 or -1")
        if field == "_id":
            return [*order, ("_id", direction)]  # unique: later keys could never matter
        order.append((check_field(field), direction))
    return [*order, ("_id", 1)]


def check_limit(limit: int) -> int:
    if limit < 1:
        raise ValueError("limit must be at least 1")
    return limit


def encode_cursor(order: list[tuple[str, int]], last: Document) -> Cursor:
    return Cursor(sort_signature(order), tuple(last.get(field) for field, _ in order))


def decode_cursor(order: list[tuple[str, int]], cursor: Cursor) -> list[Any]:
    """The cursor's values, checked against `order`: the last one is an `_id`."""
    values = cursor.values_for(sort_signature(order), len(order))
    if not isinstance(values[-1], str):
        raise InvalidCursor("this cursor is not one this listing gave; start without one")
    return values


@dataclass(frozen=True)
class Bound:
    """One condition of a keyset branch: `field` equals `value`, or comes after it."""

    field: str
    op: Literal["eq", "after"]
    direction: int
    value: Any


def keyset_branches(order: list[tuple[str, int]], last: list[Any]) -> list[list[Bound]]:
    """Rows strictly after `last` in `order`, as an OR of ANDs."""
    branches: list[list[Bound]] = []
    for i, (field, direction) in enumerate(order):
        if direction == -1 and last[i] is None:
            continue  # nulls sort last when descending: nothing comes after one
        ties = [Bound(f, "eq", d, v) for (f, d), v in zip(order[:i], last[:i], strict=True)]
        branches.append([*ties, Bound(field, "after", direction, last[i])])
    return branches
