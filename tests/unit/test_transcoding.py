"""The relay's orjson transcoder decodes every stored state as eventsourcing's own does."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    JSONTranscoder,
    TranscodingNotRegisteredError,
    UUIDAsHex,
)
from hypothesis import given
from hypothesis import strategies as st

from workers.transcoding import OrjsonTranscoder


def registered(transcoder: JSONTranscoder) -> JSONTranscoder:
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO()):
        transcoder.register(transcoding)
    return transcoder


LIBRARY, OURS = registered(JSONTranscoder()), registered(OrjsonTranscoder())
leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),  # beyond 64 bits orjson refuses: the library's decoder takes over
    st.floats(),  # NaN and infinities likewise
    st.text(),
    st.uuids(),
    st.decimals(allow_nan=False),
    st.datetimes(timezones=st.just(UTC)),
)
values = st.recursive(
    leaves,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


def outcome(transcoder: JSONTranscoder, stored: bytes) -> str:
    try:
        return repr(transcoder.decode(stored))  # NaN != NaN, but reprs match
    except Exception as error:
        return type(error).__name__


def same(stored: bytes) -> bool:
    return outcome(OURS, stored) == outcome(LIBRARY, stored)


@given(st.dictionaries(st.text(), values, max_size=6))
def test_decodes_what_the_library_encodes_exactly_as_the_library(state: dict[str, Any]) -> None:
    assert same(LIBRARY.encode(state))


@pytest.mark.parametrize(
    "stored",
    [
        b'{"_type_": "uuid_hex", "_data_": "6f1c0b3ae2d94c1f9a57d8e0b4c2a913"}',
        b'{"a": {"_type_": "decimal_str", "_data_": "1.5"}, "b": [{"_type_": "x"}]}',
        b'{"a": {"_type_": "nope", "other": 1}, "b": {"_data_": 1, "_type_": 2}}',
        b'[1, {"_type_": "datetime_iso", "_data_": "2026-11-26T11:23:03+00:00"}]',
        b'"plain"',
        b"1.5",
        b'{"big": 123456789012345678901234567890, "small": -9223372036854775809}',
        b'{"x": [NaN, Infinity]}',
    ],
)
def test_decodes_hand_written_states_as_the_library(stored: bytes) -> None:
    assert same(stored)


def test_an_unknown_transcoding_fails_as_in_the_library() -> None:
    stored = b'{"a": {"_type_": "unknown", "_data_": "x"}}'
    with pytest.raises(TranscodingNotRegisteredError):
        LIBRARY.decode(stored)
    with pytest.raises(TranscodingNotRegisteredError):
        OURS.decode(stored)


def test_encodes_as_the_library() -> None:
    state = {"when": datetime.now(UTC), "id": uuid.uuid4(), "price": Decimal("9.99")}
    assert OURS.encode(state) == LIBRARY.encode(state)
