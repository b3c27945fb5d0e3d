"""Triton repository entries generated from a version's signature, and the Python backend's
stacking of requests: pure functions, no Triton."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from infra.inference.triton_model import split, stack
from infra.inference.triton_repository import (
    RepositoryOptions,
    UnservableSignature,
    config_pbtxt,
    is_batchable,
    warmup_shape,
)


def spec(name: str, dtype: str, shape: list[Any]) -> dict[str, Any]:
    return {"name": name, "dtype": dtype, "shape": shape}


BATCHABLE = {
    "inputs": [spec("x", "float32", ["batch", 256])],
    "outputs": [spec("y", "float32", [None, 10])],
}
FIXED = {
    "inputs": [spec("x", "float32", [1, 3, 224, 224])],
    "outputs": [spec("probs", "float32", [1, 1000])],
}


def test_a_signature_batching_on_its_first_dim_gets_max_batch_size_and_the_dynamic_batcher() -> (
    None
):
    config = config_pbtxt(
        "m1", BATCHABLE, RepositoryOptions(max_batch_size=16, max_queue_delay_us=250)
    )
    assert 'name: "m1"' in config and 'backend: "python"' in config
    assert "max_batch_size: 16" in config
    # The batch dimension is implicit: only the others are written.
    assert '{ name: "x" data_type: TYPE_FP32 dims: [ 256 ] }' in config
    assert '{ name: "y" data_type: TYPE_FP32 dims: [ 10 ] }' in config
    assert "dynamic_batching { max_queue_delay_microseconds: 250 }" in config
    assert "instance_group [ { kind: KIND_CPU count: 1 } ]" in config


def test_a_fixed_first_dim_is_not_batched_and_keeps_every_dim() -> None:
    assert not is_batchable(FIXED)
    config = config_pbtxt("m2", FIXED, RepositoryOptions(instances=2))
    assert "max_batch_size: 0" in config
    assert "dims: [ 1, 3, 224, 224 ]" in config and "dims: [ 1, 1000 ]" in config
    assert "dynamic_batching" not in config
    assert "count: 2" in config


def test_one_fixed_output_makes_the_whole_version_unbatched() -> None:
    signature = {**BATCHABLE, "outputs": [*BATCHABLE["outputs"], spec("n", "int64", [1])]}
    assert not is_batchable(signature)
    assert "max_batch_size: 0" in config_pbtxt("m", signature, RepositoryOptions())


def test_int64_bool_and_symbolic_inner_dims_map_to_triton_types_and_minus_one() -> None:
    signature = {
        "inputs": [
            spec("ids", "int64", ["batch", "sequence"]),
            spec("mask", "bool", ["batch", "sequence"]),
        ],
        "outputs": [spec("logits", "float16", ["batch", "sequence", 2])],
    }
    config = config_pbtxt("bert", signature, RepositoryOptions())
    assert '{ name: "ids" data_type: TYPE_INT64 dims: [ -1 ] }' in config
    assert '{ name: "mask" data_type: TYPE_BOOL dims: [ -1 ] }' in config
    assert '{ name: "logits" data_type: TYPE_FP16 dims: [ -1, 2 ] }' in config
    assert warmup_shape(signature["inputs"][0]) == [1, 1]


def test_batching_off_by_setting_writes_no_dynamic_batcher() -> None:
    config = config_pbtxt("m", BATCHABLE, RepositoryOptions(dynamic_batching=False))
    assert "max_batch_size: 32" in config and "dynamic_batching" not in config


def test_a_batched_vector_is_reshaped_from_one() -> None:
    signature = {"inputs": [spec("x", "float32", ["n"])], "outputs": [spec("y", "int32", ["n"])]}
    config = config_pbtxt("v", signature, RepositoryOptions())
    assert '{ name: "x" data_type: TYPE_FP32 dims: [ 1 ] reshape: { shape: [ ] } }' in config


def test_the_onnxruntime_backend_is_a_platform_without_a_model_py() -> None:
    config = config_pbtxt("m", BATCHABLE, RepositoryOptions(backend="onnxruntime"))
    assert 'platform: "onnxruntime_onnx"' in config and "backend:" not in config


@pytest.mark.parametrize(
    "signature",
    [
        {"inputs": [spec("x", "complex64", [1])], "outputs": []},
        {"inputs": [{"name": "x", "dtype": "float32", "shape": None}], "outputs": []},
    ],
)
def test_an_unservable_signature_is_refused(signature: dict[str, Any]) -> None:
    with pytest.raises(UnservableSignature):
        config_pbtxt("m", signature, RepositoryOptions())


def test_requests_are_stacked_along_the_batch_axis_and_split_back() -> None:
    a = {"x": np.ones((2, 3), np.float32), "k": np.zeros((2, 1), np.int64)}
    b = {"x": np.full((1, 3), 7, np.float32), "k": np.ones((1, 1), np.int64)}
    c = {"x": np.arange(9, dtype=np.float32).reshape(3, 3), "k": np.ones((3, 1), np.int64)}
    stacked = stack([a, b, c])
    assert stacked is not None
    feeds, sizes = stacked
    assert sizes == [2, 1, 3] and feeds["x"].shape == (6, 3) and feeds["k"].shape == (6, 1)
    parts = split({"y": feeds["x"] * 2}, sizes)
    for part, request in zip(parts, [a, b, c], strict=True):
        np.testing.assert_array_equal(part["y"], request["x"] * 2)


def test_requests_of_different_trailing_shapes_are_not_stacked() -> None:
    a = {"x": np.ones((1, 3), np.float32)}
    b = {"x": np.ones((1, 4), np.float32)}
    assert stack([a, b]) is None
    assert stack([a, {"x": np.ones((1, 3), np.float64)}]) is None
