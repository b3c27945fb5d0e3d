"""A call's inputs, checked against the version's stored signature at the edge: names,
dtypes and shapes, from JSON nested lists or base64 little-endian raw bytes; 422 naming
the offending input. Outputs go back in the form the caller asked for."""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from domain.errors import InvalidInput, PayloadTooLarge

OUTPUT_FORMATS = ("json", "base64")
# numpy kinds a JSON value may arrive as, for each kind the signature asks for
# (an integer is a fine float; a float is not a fine integer).
_ACCEPTED_KINDS = {"f": "iuf", "i": "iu", "u": "iu", "b": "b"}


class InputError(InvalidInput):
    code = "invalid_input_tensor"


class NotBatchable(InvalidInput):
    code = "not_batchable"


class InputTooLarge(PayloadTooLarge):
    code = "input_too_large"


@dataclass(frozen=True)
class TensorSpec:
    name: str
    dtype: np.dtype[Any]
    shape: tuple[int | None, ...]  # None: any size (symbolic or unnamed)
    symbols: tuple[str | None, ...]  # a symbolic dimension's name, equal sizes across inputs


@dataclass(frozen=True)
class Signature:
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]

    @property
    def batchable(self) -> bool:
        """Every input and output has a free first dimension: items can be stacked on it."""
        return all(s.shape and s.shape[0] is None for s in (*self.inputs, *self.outputs))

    @classmethod
    def from_stored(cls, stored: Mapping[str, Any]) -> Signature:
        return cls(
            tuple(_spec(raw) for raw in stored.get("inputs", [])),
            tuple(_spec(raw) for raw in stored.get("outputs", [])),
        )


def _spec(raw: Mapping[str, Any]) -> TensorSpec:
    try:
        dtype = np.dtype(str(raw["dtype"]))
    except TypeError:
        dtype = np.dtype(object)  # sequences, maps, strings: refused when called
    dims = raw.get("shape") or []
    shape = tuple(d if isinstance(d, int) and d >= 0 else None for d in dims)
    symbols = tuple(d if isinstance(d, str) else None for d in dims)
    return TensorSpec(str(raw["name"]), dtype, shape, symbols)


def decode_inputs(
    signature: Signature, raw: Mapping[str, Any], max_bytes: int
) -> dict[str, np.ndarray]:
    """The caller's inputs as arrays of the signature's dtypes and shapes, or InputError."""
    wanted = {spec.name: spec for spec in signature.inputs}
    unknown = sorted(set(raw) - set(wanted))
    if unknown:
        raise InputError(f"unknown input {unknown[0]!r}; the model takes {sorted(wanted)}")
    missing = [name for name in wanted if name not in raw]
    if missing:
        raise InputError(f"input {missing[0]!r} is missing; the model takes {sorted(wanted)}")
    arrays: dict[str, np.ndarray] = {}
    total = 0
    for spec in signature.inputs:
        array = _decode(spec, raw[spec.name], max_bytes - total)
        total += array.nbytes
        arrays[spec.name] = array
    _check_symbols(signature.inputs, arrays)
    return arrays


def _decode(spec: TensorSpec, value: Any, budget: int) -> np.ndarray:
    if spec.dtype.kind not in _ACCEPTED_KINDS:
        raise InputError(f"input {spec.name!r} is of a type this API cannot send ({spec.dtype})")
    if isinstance(value, Mapping):
        array = _from_base64(spec, value, budget)
    else:
        array = _from_lists(spec, value)
    if array.nbytes > budget:
        raise InputTooLarge(
            f"input {spec.name!r} takes {array.nbytes} bytes; the call's limit is reached"
        )
    _check_shape(spec, array.shape)
    return array


def _from_lists(spec: TensorSpec, value: Any) -> np.ndarray:
    try:
        array = np.asarray(value)
    except (ValueError, TypeError):
        raise InputError(f"input {spec.name!r} is not a rectangular array of numbers") from None
    if array.dtype.kind not in _ACCEPTED_KINDS[spec.dtype.kind]:
        raise InputError(
            f"input {spec.name!r} must hold {spec.dtype} values, got {_kind_name(array)}"
        )
    return array.astype(spec.dtype, copy=False)


def _kind_name(array: np.ndarray) -> str:
    return {"U": "text", "O": "mixed values", "b": "booleans", "f": "fractions"}.get(
        array.dtype.kind, str(array.dtype)
    )


def _from_base64(spec: TensorSpec, value: Mapping[str, Any], budget: int) -> np.ndarray:
    data, dtype, shape = value.get("b64"), value.get("dtype"), value.get("shape")
    if not isinstance(data, str) or set(value) - {"b64", "dtype", "shape"}:
        raise InputError(f"input {spec.name!r}: a raw tensor is {{b64, dtype, shape}}")
    if dtype is not None and dtype != spec.dtype.name:
        raise InputError(f"input {spec.name!r} must be {spec.dtype.name}, got {dtype!r}")
    if not isinstance(shape, list) or not all(_is_size(d) for d in shape):
        raise InputError(f"input {spec.name!r}: shape must be a list of sizes")
    if len(data) * 3 // 4 > budget:
        raise InputTooLarge(f"input {spec.name!r} is larger than the call's limit")
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise InputError(f"input {spec.name!r}: b64 is not valid base64") from None
    expected = int(np.prod(shape, dtype=np.int64)) * spec.dtype.itemsize
    if len(raw) != expected:
        raise InputError(
            f"input {spec.name!r}: {len(raw)} bytes do not make shape {shape} of {spec.dtype}"
        )
    little = spec.dtype.newbyteorder("<")
    return np.frombuffer(raw, dtype=little).astype(spec.dtype, copy=False).reshape(shape)


def _is_size(d: object) -> bool:
    return isinstance(d, int) and not isinstance(d, bool) and 0 <= d <= 2**31


def _check_shape(spec: TensorSpec, shape: tuple[int, ...]) -> None:
    fits = len(shape) == len(spec.shape) and all(
        want is None or want == got for want, got in zip(spec.shape, shape, strict=True)
    )
    if not fits:
        wanted = [
            s if s is not None else (y or "any")
            for s, y in zip(spec.shape, spec.symbols, strict=True)
        ]
        raise InputError(f"input {spec.name!r} has shape {list(shape)}; the model wants {wanted}")


def _check_symbols(specs: Sequence[TensorSpec], arrays: Mapping[str, np.ndarray]) -> None:
    seen: dict[str, tuple[str, int]] = {}
    for spec in specs:
        for symbol, size in zip(spec.symbols, arrays[spec.name].shape, strict=True):
            if symbol is None:
                continue
            first = seen.setdefault(symbol, (spec.name, size))
            if first[1] != size:
                raise InputError(
                    f"input {spec.name!r} has {symbol}={size} but {first[0]!r} has {first[1]}"
                )


def encode_outputs(outputs: Mapping[str, np.ndarray], form: str) -> dict[str, Any]:
    if form == "base64":
        return {
            name: {
                "b64": base64.b64encode(_little(array).tobytes()).decode("ascii"),
                "dtype": array.dtype.name,
                "shape": list(array.shape),
            }
            for name, array in outputs.items()
        }
    return {name: array.tolist() for name, array in outputs.items()}


def _little(array: np.ndarray) -> np.ndarray:
    return array.astype(array.dtype.newbyteorder("<"), copy=False)


def input_digest(inputs: Mapping[str, np.ndarray]) -> str:
    """The same tensors give the same digest, however they arrived (lists or base64)."""
    hasher = hashlib.sha256()
    for name in sorted(inputs):
        array = np.ascontiguousarray(_little(inputs[name]))
        hasher.update(f"{name}\0{array.dtype.str}\0{array.shape}\0".encode())
        hasher.update(array.data)
    return hasher.hexdigest()


def stack(items: Sequence[Mapping[str, np.ndarray]]) -> tuple[dict[str, np.ndarray], list[int]]:
    """Items of a batch, stacked on the first axis, and each item's share of it."""
    sizes = [next(iter(item.values())).shape[0] for item in items]
    names = list(items[0])
    return {n: np.concatenate([item[n] for item in items], axis=0) for n in names}, sizes


def unstack(outputs: Mapping[str, np.ndarray], sizes: Sequence[int]) -> list[dict[str, np.ndarray]]:
    cuts = np.cumsum(sizes)[:-1]
    split = {name: np.split(array, cuts, axis=0) for name, array in outputs.items()}
    return [{name: parts[i] for name, parts in split.items()} for i in range(len(sizes))]
