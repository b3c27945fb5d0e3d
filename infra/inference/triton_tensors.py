"""Tensors as tritonclient carries them: numpy dtypes named like the signature, zero
tensors for warm-up."""

from __future__ import annotations

from typing import Any

import numpy as np

from infra.inference.triton_repository import UnservableSignature, warmup_shape

MAX_ERROR_TEXT = 500  # Triton's words, bounded: they reach the caller and the logs


def numpy_dtype(name: str) -> np.dtype[Any]:
    if name == "string":
        return np.dtype(object)
    try:
        return np.dtype(name)
    except TypeError:
        raise UnservableSignature(f"dtype {name!r} has no numpy equivalent") from None


def zeros_for(spec: dict[str, Any]) -> np.ndarray:
    """The smallest input `spec` accepts, all zeros (empty strings for text)."""
    dtype = numpy_dtype(str(spec["dtype"]))
    shape = warmup_shape(spec)
    if dtype == np.dtype(object):
        return np.full(shape, b"", dtype=object)
    return np.zeros(shape, dtype=dtype)


def error_text(error: Any) -> str:
    """Triton's own message (tritonclient adds the gRPC status in front of str())."""
    message = error.message() if hasattr(error, "message") and callable(error.message) else None
    return str(message or error)[:MAX_ERROR_TEXT]
