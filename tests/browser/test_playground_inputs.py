"""The playground's fields made from a signature: an image file where the tensor looks like
an image (either layout), a number for a scalar, a JSON array (prefilled when small)."""

from __future__ import annotations

from infra.web.playground import input_fields


def test_image_shaped_inputs_take_an_image_file_in_either_layout() -> None:
    signature = {"inputs": [
        {"name": "pixels", "dtype": "float32", "shape": ["batch", 3, 224, 224]},
        {"name": "photo", "dtype": "float32", "shape": [1, 64, 64, 1]},
    ]}  # fmt: skip
    nchw, nhwc = input_fields(signature)
    assert (nchw.kind, nchw.layout, nchw.shape) == ("image", "nchw", [1, 3, 224, 224])
    assert (nhwc.kind, nhwc.layout) == ("image", "nhwc")


def test_numbers_and_arrays_are_prefilled_when_small() -> None:
    signature = {"inputs": [
        {"name": "t", "dtype": "float32", "shape": []},
        {"name": "x", "dtype": "float32", "shape": [None, 4]},
        {"name": "big", "dtype": "int64", "shape": [1, 512]},
    ]}  # fmt: skip
    scalar, small, big = input_fields(signature)
    assert (scalar.kind, scalar.prefill) == ("number", "0")
    assert (small.kind, small.prefill) == ("array", "[[0, 0, 0, 0]]")
    assert (big.kind, big.prefill) == ("array", "")
    assert input_fields(None) == []
