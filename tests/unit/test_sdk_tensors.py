"""The SDK's tensors: numpy arrays travel as raw little-endian bytes and come back equal,
whatever their dtype or byte order; lists pass as they are."""

from __future__ import annotations

import json

import numpy as np
import pytest
from aimarket_client.tensors import decode, encode_inputs


@pytest.mark.parametrize("dtype", ["<f4", ">f4", "<f8", ">i8", "<i4", "u1", "?"])
def test_an_array_comes_back_equal_through_its_json_form(dtype: str) -> None:
    array = (np.arange(24).reshape(2, 3, 4) % 2).astype(dtype)
    sent = json.loads(json.dumps(encode_inputs({"x": array})))["x"]
    assert sent["shape"] == [2, 3, 4] and sent["dtype"] == array.dtype.name
    back = decode(sent)
    assert back.dtype == array.dtype.newbyteorder("=") and np.array_equal(back, array)


def test_nested_lists_are_sent_as_they_are_and_read_back_as_arrays() -> None:
    assert encode_inputs({"x": [[1.0, 2.0]]}) == {"x": [[1.0, 2.0]]}
    assert np.array_equal(decode([[1.0, 2.0]]), np.array([[1.0, 2.0]]))
