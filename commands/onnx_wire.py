"""Read an ONNX file's header straight off the protobuf wire, without loading the model.

A model of a gigabyte would cost gigabytes as Python protobuf objects. Walking the wire
format instead reads the few small fields we record (IR version, opsets, producer) and
looks into every tensor for external data, skipping weights by seeking past them.

External data must be refused: a tensor may name any file relative to the model, and
loading the model would read that file (another upload's part, another model's blob).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

VARINT, FIXED64, LENGTH, FIXED32 = 0, 1, 2, 5
_MAX_DEPTH = 64  # subgraphs nest (If, Loop, Scan); a deeper file is hostile


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


def _tensor(f: BinaryIO, end: int, header: OnnxHeader, depth: int) -> None:
    for number, wire, value, _ in _fields(f, end):
        # 13: external_data entries; 14: data_location, 1 = EXTERNAL.
        if (number == 13 and wire == LENGTH) or (number == 14 and wire == VARINT and value == 1):
            header.external_data = True


_sparse = _walk({1: _tensor, 2: _tensor})
_graph_children: dict[int, Walker] = {5: _tensor, 15: _sparse}
_graph = _walk(_graph_children)
# AttributeProto: t, g, tensors, graphs, sparse_tensor, sparse_tensors.
_attribute = _walk({5: _tensor, 6: _graph, 10: _tensor, 11: _graph, 22: _sparse, 23: _sparse})
_node = _walk({5: _attribute})
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
    return header
