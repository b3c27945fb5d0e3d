"""The one cursor of every paged listing: where the next page starts.

A cursor names the sort it continues (a short signature of the sort keys) and holds the
sort values of the last row given, as base64url JSON. Clients send it back, so
`Cursor.decode` checks it fully before anything reaches a store: a bounded length,
scalars only, integers that fit SQLite's, MongoDB's and OpenSearch's signed 64 bits,
finite numbers, strings that are valid UTF-8. A store then asks `values_for` its own sort,
which refuses a cursor made for another one.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from domain.errors import InvalidInput

MAX_CHARS = 4096  # a real cursor is far shorter
MIN_INT64, MAX_INT64 = -(2**63), 2**63 - 1
Scalar = str | int | float | bool | None
_FOREIGN = "this cursor is not one a listing gave; start without one"


class InvalidCursor(InvalidInput):
    code = "invalid_cursor"


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number a store can hold")


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):  # "1e999" reads as infinity
        raise ValueError(f"{text} is not a number a store can hold")
    return number


def sort_signature(keys: Iterable[tuple[str, int]]) -> str:
    """A cursor only continues the sort it came from: its values mean nothing in another."""
    spec = ",".join(f"{field}:{order}" for field, order in keys)
    return hashlib.sha256(spec.encode()).hexdigest()[:8]


@dataclass(frozen=True)
class Cursor:
    sort: str  # sort_signature of the keys the values belong to
    values: tuple[Scalar, ...]

    def encode(self) -> str:
        raw = json.dumps([self.sort, *self.values], separators=(",", ":"), allow_nan=False)
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        """The cursor `text` encodes; InvalidCursor for anything a listing did not give."""
        if not 0 < len(text) <= MAX_CHARS:
            raise InvalidCursor(f"a cursor is 1 to {MAX_CHARS} characters; start without one")
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            decoded = json.loads(raw, parse_constant=_refuse_constant, parse_float=_finite)
        except (ValueError, binascii.Error, RecursionError):  # UnicodeError is a ValueError
            raise InvalidCursor(_FOREIGN) from None
        if not (isinstance(decoded, list) and decoded and isinstance(decoded[0], str)):
            raise InvalidCursor(_FOREIGN)
        if not all(_storable(value) for value in decoded[1:]):
            raise InvalidCursor("this cursor holds a value no listing gives; start without one")
        return cls(decoded[0], tuple(decoded[1:]))

    def values_for(self, sort: str, count: int) -> list[Scalar]:
        """The values, if this cursor continues `sort` and holds `count` of them."""
        if self.sort != sort:
            raise InvalidCursor("the cursor belongs to another sort order; start without one")
        if len(self.values) != count:
            raise InvalidCursor("this cursor is not one this listing gave; start without one")
        return list(self.values)


def _storable(value: object) -> bool:
    if value is None or isinstance(value, bool | float):
        return True  # decode reads finite floats only
    if isinstance(value, int):
        return MIN_INT64 <= value <= MAX_INT64
    if isinstance(value, str):
        try:
            value.encode("utf-8")  # a lone surrogate ("\ud800") cannot be bound or stored
        except UnicodeEncodeError:
            return False
        return True
    return False
