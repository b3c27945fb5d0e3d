"""Inputs against a signature: the accepted forms, and each refusal naming the input."""

from __future__ import annotations

import base64

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from commands.tensors import (
    InputError,
    InputTooLarge,
    Signature,
    decode_inputs,
    encode_outputs,
    input_digest,
    stack,
    unstack,
)

SIGNATURE = Signature.from_stored(
    {
        "inputs": [
            {"name": "ids", "dtype": "int64", "shape": ["batch", "seq"]},
            {"name": "mask", "dtype": "int64", "shape": ["batch", "seq"]},
            {"name": "scale", "dtype": "float32", "shape": [1]},
        ],
        "outputs": [{"name": "y", "dtype": "float32", "shape": ["batch", 2]}],
    }
)
GOOD = {"ids": [[1, 2, 3]], "mask": [[1, 1, 0]], "scale": [0.5]}


def test_nested_lists_become_arrays_of_the_signatures_dtypes() -> None:
    arrays = decode_inputs(SIGNATURE, GOOD, 10_000)
    assert arrays["ids"].dtype == np.int64 and arrays["scale"].dtype == np.float32
    assert arrays["ids"].shape == (1, 3)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"ids": [[1.5, 2, 3]]}, "'ids' must hold int64 values, got fractions"),
        ({"mask": [[1, 1]]}, "'mask' has seq=2 but 'ids' has 3"),
        ({"scale": [0.5, 1.0]}, "'scale' has shape [2]"),
        ({"scale": [True]}, "'scale' must hold float32 values, got booleans"),
    ],
)
def test_each_refusal_names_the_input(change: dict[str, object], words: str) -> None:
    with pytest.raises(InputError) as refused:
        decode_inputs(SIGNATURE, {**GOOD, **change}, 10_000)
    assert words in refused.value.message


def test_the_byte_budget_covers_all_inputs_together() -> None:
    with pytest.raises(InputTooLarge):
        decode_inputs(SIGNATURE, GOOD, 50)  # 24 + 24 + 4 bytes


def test_a_base64_tensor_claiming_more_than_the_budget_is_refused_before_decoding() -> None:
    huge = {"b64": "A" * 4_000_000, "dtype": "int64", "shape": [1, 375_000]}
    with pytest.raises(InputTooLarge):
        decode_inputs(SIGNATURE, {**GOOD, "ids": huge}, 10_000)


@given(hnp.arrays(np.float32, hnp.array_shapes(min_dims=2, max_dims=2, max_side=5),
                  elements=st.floats(-1e6, 1e6, width=32)))  # fmt: skip
def test_lists_and_base64_of_equal_tensors_decode_and_digest_alike(x: np.ndarray) -> None:
    signature = Signature.from_stored(
        {"inputs": [{"name": "x", "dtype": "float32", "shape": [None, None]}], "outputs": []}
    )
    raw = {"b64": base64.b64encode(x.astype("<f4").tobytes()).decode(), "shape": list(x.shape)}
    from_lists = decode_inputs(signature, {"x": x.tolist()}, 10**6)
    from_b64 = decode_inputs(signature, {"x": raw}, 10**6)
    np.testing.assert_array_equal(from_lists["x"], from_b64["x"])
    assert input_digest(from_lists) == input_digest(from_b64)
    back = encode_outputs(from_b64, "base64")["x"]
    assert base64.b64decode(back["b64"]) == x.astype("<f4").tobytes()


def test_stacked_items_split_back_by_their_own_sizes() -> None:
    items = [{"x": np.ones((n, 2)) * n} for n in (1, 3, 2)]
    stacked, sizes = stack(items)
    assert stacked["x"].shape == (6, 2) and sizes == [1, 3, 2]
    parts = unstack(stacked, sizes)
    assert [p["x"].shape[0] for p in parts] == [1, 3, 2]
    assert all((p["x"] == n).all() for p, n in zip(parts, (1, 3, 2), strict=True))
