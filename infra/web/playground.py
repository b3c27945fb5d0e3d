"""The playground's inputs, made from a version's signature: one field per input tensor,
an image file where the tensor looks like an image, else a JSON array (or a number)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

CHANNELS = (1, 3)
MAX_PREFILL = 64  # more elements than this: the array starts empty, to be pasted


@dataclass(frozen=True)
class InputField:
    name: str
    dtype: str
    shape: list[int]  # dynamic dimensions as 1
    kind: str  # image | number | array
    prefill: str
    layout: str = ""  # images: nchw or nhwc


def input_fields(signature: dict[str, Any] | None) -> list[InputField]:
    specs = (signature or {}).get("inputs") or []
    return [_field(spec) for spec in specs]


def _field(spec: dict[str, Any]) -> InputField:
    shape = [_dim(d) for d in spec.get("shape") or []]
    name, dtype = str(spec.get("name", "input")), str(spec.get("dtype", "float32"))
    layout = _image_layout(shape)
    if layout:
        return InputField(name, dtype, shape, "image", "", layout)
    if not shape:
        return InputField(name, dtype, shape, "number", "0")
    return InputField(name, dtype, shape, "array", _zeros(shape))


def _dim(d: Any) -> int:
    return d if isinstance(d, int) and d > 0 else 1


def _image_layout(shape: list[int]) -> str:
    if len(shape) != 4 or min(shape[1:]) < 1:
        return ""
    if shape[1] in CHANNELS and shape[2] >= 8 and shape[3] >= 8:
        return "nchw"
    if shape[3] in CHANNELS and shape[1] >= 8 and shape[2] >= 8:
        return "nhwc"
    return ""


def _zeros(shape: list[int]) -> str:
    size = 1
    for d in shape:
        size *= d
    if size > MAX_PREFILL:
        return ""
    value: Any = 0
    for d in reversed(shape):
        value = [value] * d
    return json.dumps(value)
