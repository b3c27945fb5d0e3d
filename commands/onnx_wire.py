"""Read an ONNX file's header straight off the protobuf wire, without loading the model.

A model of a gigabyte would cost gigabytes as Python protobuf objects. Walking the wire
format instead reads the few small fields we record (IR version, opsets, producer) and
looks into every tensor for external data, skipping weights by seeking past them.

External data must be refused: a tensor may name any file relative to the model, and
loading the model would read that file (another upload's part, another model's blob).

It also sums what the file *declares* against what it *holds*: a sparse tensor of
[50000, 50000] is a few bytes on the wire and 10 GB once onnxruntime makes it dense, and
a ConstantOfShape fed a constant shape is folded into a tensor of that shape when the
model is optimised for serving. Those sizes are checked before anything is loaded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from math import prod
from typing import BinaryIO

VARINT, FIXED64, LENGTH, FIXED32 = 0, 1, 2, 5
_MAX_DEPTH = 64  # subgraphs nest (If, Loop, Scan); a deeper file is hostile
_MAX_RANK = 64  # onnxruntime itself handles far fewer dimensions


class WireError(ValueError):
    """The bytes are not a well-formed protobuf message."""


@dataclass
class OnnxHeader:
    ir_version: int = 0
    opsets: dict[str, int] = field(default_factory=dict)  # domain ("" is ai.onnx) -> version
    producer: str = ""
    producer_version: str = ""
    has_graph: bool = False
    external_data: bool = False
    nodes: int = 0  # in the graph, its subgraphs and functions
    # Bytes that tensors grow by when loaded or folded, beyond the bytes the file holds
    # for them; and the tensor that grows the most (name, bytes).
    expanded_bytes: int = 0
    largest: tuple[str, int] = ("", 0)
    shapes: dict[str, list[int]] = field(default_factory=dict)  # small int64 constants
    shape_inputs: list[str] = field(default_factory=list)  # what ConstantOfShape nodes take

    def grow(self, name: str, declared: int, held: int) -> None:
        grown = max(0, declared - held)
        self.expanded_bytes += grown
        if grown > self.largest[1]:
            self.largest = (name, grown)

    def fold_constant_shapes(self) -> None:
        """Count what ConstantOfShape nodes fed a known shape make (at most 8 bytes each)."""
        for name in self.shape_inputs:
            dims = self.shapes.get(name)
            if dims is not None:
                self.grow(f"ConstantOfShape({name})", prod(max(d, 0) for d in dims) * 8, 0)


def _varint(f: BinaryIO) -> int:
    value = shift = 0
    while True:
        byte = f.read(1)
        if not byte:
            raise WireError("truncated varint")
        value |= (byte[0] & 0x7F) << shift
        if not byte[0] & 0x80:
            return value
        shift += 7
        if shift > 63:
            raise WireError("varint too long")


def _fields(f: BinaryIO, end: int) -> Iterator[tuple[int, int, int, int]]:
    """(field number, wire type, value or payload offset, payload length) up to `end`.

    A length-delimited payload is skipped once the consumer returns, whatever it read.
    """
    while f.tell() < end:
        key = _varint(f)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise WireError("field number 0")
        if wire == VARINT:
            yield number, wire, _varint(f), 0
        elif wire in (FIXED64, FIXED32):
            width = 8 if wire == FIXED64 else 4
            start = f.tell()
            yield number, wire, start, width
            f.seek(start + width)
        elif wire == LENGTH:
            length = _varint(f)
            start = f.tell()
            if start + length > end:
                raise WireError("a field runs past the end of its message")
            yield number, wire, start, length
            f.seek(start + length)
        else:
            raise WireError(f"unsupported wire type {wire}")
    if f.tell() != end:
        raise WireError("a field runs past the end of its message")


def _text(f: BinaryIO, start: int, length: int) -> str:
    f.seek(start)
    return f.read(min(length, 4096)).decode("utf-8", "replace")


Walker = Callable[[BinaryIO, int, "OnnxHeader", int], None]


def _walk(children: dict[int, Walker]) -> Walker:
    """A message walker that descends into the listed length-delimited fields only."""

    def walk(f: BinaryIO, end: int, header: OnnxHeader, depth: int) -> None:
        if depth > _MAX_DEPTH:
            raise WireError("messages nest too deeply")
        for number, wire, start, length in _fields(f, end):
            child = children.get(number)
            if child is not None and wire == LENGTH:
                f.seek(start)
                child(f, start + length, header, depth + 1)

    return walk


# TensorProto.DataType -> bytes per element once loaded (strings: at least a pointer).
_WIDTHS = {1: 4, 2: 1, 3: 1, 4: 2, 5: 2, 6: 4, 7: 8, 8: 8, 9: 1, 10: 2, 11: 8, 12: 4, 13: 8}
_WIDTHS |= {14: 8, 15: 16, 16: 2}  # complex64, complex128, bfloat16; float8/4 and the rest: 1
_DATA_FIELDS = frozenset({4, 5, 6, 7, 9, 10, 11})  # *_data and raw_data
_INT64, _SMALL = 7, 8  # a shape worth remembering has at most 8 dimensions


@dataclass
class _Tensor:
    name: str = ""
    dtype: int = 0
    dims: list[int] = field(default_factory=list)
    held: int = 0  # bytes of data the file holds for it
    int64s: list[int] = field(default_factory=list)  # the values of a small int64 tensor

    @property
    def declared(self) -> int:
        return prod(self.dims) * _WIDTHS.get(self.dtype, 1)


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def _int64s(
    f: BinaryIO, wire: int, value: int, length: int, into: list[int], most: int = _SMALL + 1
) -> None:
    """A repeated int64 field's value(s), packed or not, appended to `into`; no more than
    `most` in all (one more says "too many")."""
    if wire == VARINT and len(into) < most:
        into.append(_signed(value))
    elif wire == LENGTH:
        f.seek(value)
        while f.tell() < value + length and len(into) < most:
            into.append(_signed(_varint(f)))


def _dims(f: BinaryIO, wire: int, value: int, length: int, into: list[int]) -> None:
    _int64s(f, wire, value, length, into, _MAX_RANK + 1)
    if len(into) > _MAX_RANK:
        raise WireError(f"a tensor has more than {_MAX_RANK} dimensions")
    if any(d < 0 for d in into):
        raise WireError("a tensor has a negative dimension")


def _tensor_fields(f: BinaryIO, end: int, header: OnnxHeader) -> _Tensor:
    tensor, raw = _Tensor(), b""
    for number, wire, value, length in _fields(f, end):
        # 13: external_data entries; 14: data_location, 1 = EXTERNAL.
        if (number == 13 and wire == LENGTH) or (number == 14 and wire == VARINT and value == 1):
            header.external_data = True
        elif number == 1:
            _dims(f, wire, value, length, tensor.dims)
        elif number == 2 and wire == VARINT:
            tensor.dtype = value
        elif number == 8 and wire == LENGTH:
            tensor.name = _text(f, value, length)
        elif number in _DATA_FIELDS:
            tensor.held += length or 1  # an unpacked varint: a byte at least
            if number == 9 and wire == LENGTH and length <= 8 * _SMALL:
                f.seek(value)
                raw = f.read(length)
            elif number == _INT64:
                _int64s(f, wire, value, length, tensor.int64s)
    if raw and tensor.dtype == _INT64:
        tensor.int64s = [int.from_bytes(raw[i : i + 8], "little", signed=True)
                         for i in range(0, len(raw) - 7, 8)]  # fmt: skip
    return tensor


def _tensor_of(f: BinaryIO, end: int, header: OnnxHeader) -> _Tensor:
    tensor = _tensor_fields(f, end, header)
    header.grow(tensor.name, tensor.declared, tensor.held)
    if tensor.dtype == _INT64 and 0 < len(tensor.int64s) <= _SMALL and tensor.name:
        header.shapes[tensor.name] = tensor.int64s
    return tensor


def _tensor(f: BinaryIO, end: int, header: OnnxHeader, depth: int) -> None:
    _tensor_of(f, end, header)


def _sparse(f: BinaryIO, end: int, header: OnnxHeader, depth: int) -> None:
    """Loaded dense: its declared size is that of all its dims, whatever it holds."""
    values, held, dims = _Tensor(), 0, list[int]()
    for number, wire, value, length in _fields(f, end):
        if number in (1, 2) and wire == LENGTH:
            f.seek(value)
            tensor = _tensor_fields(f, value + length, header)
            held += tensor.held
            values = tensor if number == 1 else values
        elif number == 3:
            _dims(f, wire, value, length, dims)
    header.grow(values.name, prod(dims) * _WIDTHS.get(values.dtype, 1), held)


_graph_children: dict[int, Walker] = {5: _tensor, 15: _sparse}
_graph = _walk(_graph_children)
# AttributeProto: t, g, tensors, graphs, sparse_tensor, sparse_tensors.
_attribute_children: dict[int, Walker] = {6: _graph, 10: _tensor, 11: _graph}
_attribute_children |= {22: _sparse, 23: _sparse}


def _attribute(f: BinaryIO, end: int, header: OnnxHeader, depth: int) -> tuple[str, list[int]]:
    """(name, its ints or the values of its small int64 tensor), descending into the rest."""
    name, ints = "", list[int]()
    for number, wire, value, length in _fields(f, end):
        if number == 1 and wire == LENGTH:
            name = _text(f, value, length)
        elif number == 5 and wire == LENGTH:
            f.seek(value)
            ints = _tensor_of(f, value + length, header).int64s
        elif number == 8:  # ints
            _int64s(f, wire, value, length, ints)
        elif number in _attribute_children and wire == LENGTH:
            f.seek(value)
            _attribute_children[number](f, value + length, header, depth + 1)
    return name, ints


def _node(f: BinaryIO, end: int, header: OnnxHeader, depth: int) -> None:
    if depth > _MAX_DEPTH:
        raise WireError("messages nest too deeply")
    header.nodes += 1
    names: dict[int, str] = {}  # first input, first output, op_type, domain
    constant: list[int] = []
    for number, wire, value, length in _fields(f, end):
        if number in (1, 2, 4, 7) and wire == LENGTH and number not in names:
            names[number] = _text(f, value, length)
        elif number == 5 and wire == LENGTH:
            f.seek(value)
            attribute, ints = _attribute(f, value + length, header, depth + 1)
            constant = ints if attribute in ("value", "value_ints") else constant
    if names.get(7, "") not in ("", "ai.onnx"):
        return
    if names.get(4) == "ConstantOfShape" and 1 in names:
        header.shape_inputs.append(names[1])
    elif names.get(4) == "Constant" and 2 in names and 0 < len(constant) <= _SMALL:
        header.shapes[names[2]] = constant


_graph_children[1] = _node
_function = _walk({7: _node})
_training = _walk({1: _graph, 2: _graph})


def _opset(f: BinaryIO, end: int, header: OnnxHeader) -> None:
    domain, version = "", 0
    for number, wire, value, length in _fields(f, end):
        if number == 1 and wire == LENGTH:
            domain = _text(f, value, length)
        elif number == 2 and wire == VARINT:
            version = value
    header.opsets["ai.onnx" if domain in ("", "ai.onnx") else domain] = version


def read_header(f: BinaryIO, size: int) -> OnnxHeader:
    """The ModelProto's header fields; raises WireError on anything malformed."""
    header = OnnxHeader()
    f.seek(0)
    for number, wire, value, length in _fields(f, size):
        if number == 1 and wire == VARINT:
            header.ir_version = value
        elif number in (2, 3) and wire == LENGTH:
            text = _text(f, value, length)
            if number == 2:
                header.producer = text
            else:
                header.producer_version = text
        elif number == 7 and wire == LENGTH:
            header.has_graph = True
            f.seek(value)
            _graph(f, value + length, header, 1)
        elif number == 8 and wire == LENGTH:
            f.seek(value)
            _opset(f, value + length, header)
        elif number in (20, 25) and wire == LENGTH:
            f.seek(value)
            (_training if number == 20 else _function)(f, value + length, header, 1)
    header.fold_constant_shapes()
    return header
