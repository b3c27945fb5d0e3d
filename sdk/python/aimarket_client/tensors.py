"""Tensors in and out of a model call. With numpy installed, arrays travel as raw
little-endian bytes (`{b64, dtype, shape}`): exact, and cheaper than nested lists for
both sides; without it, nested lists of numbers."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

try:
    import numpy as np
except ImportError:  # the `numpy` extra is optional
    np = None  # type: ignore[assignment]


def has_numpy() -> bool:
    return np is not None


def encode_inputs(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Each input as the API takes it: an array as a raw tensor, anything else as is."""
    return {name: _encode(value) for name, value in inputs.items()}


def _encode(value: Any) -> Any:
    if np is not None and isinstance(value, np.ndarray):
        little = np.ascontiguousarray(value, dtype=value.dtype.newbyteorder("<"))
        return {
            "b64": base64.b64encode(little.tobytes()).decode("ascii"),
            "dtype": value.dtype.name,
            "shape": list(value.shape),
        }
    return value


def output_format() -> str:
    """What to ask the server for: raw tensors when they can be made arrays here."""
    return "base64" if np is not None else "json"


def decode_outputs(outputs: Mapping[str, Any]) -> dict[str, Any]:
    return {name: decode(value) for name, value in outputs.items()}


def decode(value: Any) -> Any:
    """A raw tensor as a numpy array; nested lists as an array too when numpy is here."""
    if np is None:
        return value
    if isinstance(value, dict) and "b64" in value:
        little = np.dtype(value["dtype"]).newbyteorder("<")
        raw = base64.b64decode(value["b64"])
        return np.frombuffer(raw, dtype=little).astype(value["dtype"]).reshape(value["shape"])
    return np.asarray(value)
