"""What an uploaded artifact is, and whether we accept it: sniffing and ONNX validation.

The format is read from the bytes, never from a file name. ONNX is the one format served:
it is checked with `onnx.checker` and loaded by onnxruntime (CPU), and its signature is
recorded. Pickle-based files are refused, since loading one runs arbitrary code.
torch.export programs are converted to ONNX where the server has the `torch` extra.

onnx and onnxruntime are imported when first needed, so the API starts without them
and says so (503) only when an upload asks for validation.
"""

from __future__ import annotations

import importlib
import importlib.util
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

from commands.onnx_wire import OnnxHeader, WireError, read_header
from domain.errors import Unavailable

MAX_REASON = 500
_CONVERT_YOURSELF = "export the model to ONNX (torch.onnx.export) and upload the .onnx file"
REASONS = {
    "empty": "the file is empty",
    "pickle": "a Python pickle stream: loading one runs arbitrary code, so it is refused; "
    + _CONVERT_YOURSELF,
    "torch_pickle": "a torch.save checkpoint: its data.pkl is a Python pickle, and loading "
    "one runs arbitrary code, so it is refused; " + _CONVERT_YOURSELF,
    "zip": "a zip archive holding no model format we accept; upload a single .onnx file",
    "bad_zip": "a zip archive whose directory is corrupt",
    "hdf5": "a Keras/HDF5 file is not served; convert it to ONNX (e.g. tf2onnx) and upload that",
    "tflite": "a TensorFlow Lite model is not served; convert it to ONNX (e.g. tf2onnx)",
    "safetensors": "a safetensors file holds weights without a graph; "
    "export the whole model to ONNX",
    "gguf": "a GGUF (llama.cpp) file is not served yet; upload an ONNX model",
    "numpy": "a NumPy array file holds data, not a model",
    "unknown": "not a model format we recognise (judged by content, not by file name); "
    "upload an ONNX model",
}
_TORCH_ARCHIVES = ("torchscript", "torch_export")
_FLOATS = {"float": "float32", "double": "float64"}


class ConversionFailed(Exception):
    """A converter could not turn the artifact into ONNX; the message is the reason."""


class Converter(Protocol):
    kinds: frozenset[str]

    def convert(self, kind: str, source: Path, target: Path) -> None: ...


@dataclass(frozen=True)
class Verdict:
    kind: str  # what sniffing found: onnx, pickle, torchscript, ...
    framework: str | None = None
    signature: dict[str, Any] | None = None
    reasons: tuple[str, ...] = ()
    converted: Path | None = None  # the ONNX file a conversion wrote, served instead

    @property
    def accepted(self) -> bool:
        return not self.reasons


def sniff(path: Path) -> str:
    with path.open("rb") as f:
        head = f.read(16)
    if not head:
        return "empty"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _zip_kind(path)
    if len(head) > 1 and head[0] == 0x80 and 2 <= head[1] <= 5:
        return "pickle"  # protocols 2-5; also torch.save's legacy, non-zip format
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    if head[4:8] == b"TFL3":
        return "tflite"
    if head[8:10] == b'{"':
        return "safetensors"  # an 8-byte header length, then the JSON header
    # Every ONNX writer begins with field 1, ir_version, as a small varint.
    if len(head) > 1 and head[0] == 0x08 and 0 < head[1] < 0x80:
        return "onnx"
    return "unknown"


_MAGIC = ((b"\x89HDF\r\n\x1a\n", "hdf5"), (b"GGUF", "gguf"), (b"\x93NUMPY", "numpy"))


def _zip_kind(path: Path) -> str:
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError):
        return "bad_zip"
    if any(n.endswith(("serialized_exported_program.json", "/archive_format")) for n in names):
        return "torch_export"
    pickled = any(n.endswith(".pkl") for n in names)
    if pickled and any("/code/" in f"/{n}" for n in names):
        return "torchscript"
    return "torch_pickle" if pickled else "zip"


@dataclass(frozen=True)
class SizeLimits:
    """What a file may declare, checked on the wire before anything is loaded."""

    max_nodes: int = 1_000_000
    max_expanded_bytes: int = 256 * 1024 * 1024  # growth beyond the bytes the file holds


class ArtifactValidator:
    """Runs in the process that calls it: give it only to a sandbox (infra/sandbox.py)
    or to tests; untrusted files may make onnxruntime or torch use any memory or time."""

    def __init__(self, converter: Converter | None = None, limits: SizeLimits | None = None):
        self.converter, self.limits = converter, limits or SizeLimits()

    def validate(self, path: Path) -> Verdict:
        kind = sniff(path)
        if kind == "onnx":
            return check_onnx(path, self.limits)
        if kind in _TORCH_ARCHIVES:
            return self._convert(kind, path)
        return Verdict(kind, reasons=(REASONS[kind],))

    def _convert(self, kind: str, path: Path) -> Verdict:
        what = "a TorchScript archive" if kind == "torchscript" else "a torch.export program"
        if self.converter is None:
            reason = (
                f"{what}: converting it to ONNX needs the server's `torch` extra, which is "
                f"not installed; {_CONVERT_YOURSELF}"
            )
            return Verdict(kind, reasons=(reason,))
        if kind not in self.converter.kinds:
            reason = (
                f"{what} records no example inputs, which conversion to ONNX needs; save the "
                f"model with torch.export instead, or {_CONVERT_YOURSELF}"
            )
            return Verdict(kind, reasons=(reason,))
        target = path.with_name(path.name + ".converted.onnx")
        try:
            self.converter.convert(kind, path, target)
        except ConversionFailed as error:
            return Verdict(kind, reasons=(_clean(str(error), path),))
        verdict = check_onnx(target, self.limits)
        if not verdict.accepted or verdict.signature is None:
            return replace(verdict, kind=kind)
        signature = {**verdict.signature, "converted_from": kind}
        return replace(verdict, kind=kind, signature=signature, converted=target)


def check_onnx(path: Path, limits: SizeLimits | None = None) -> Verdict:
    """The sizes the file declares, then the checker, then onnxruntime; the signature
    from the loaded session."""
    try:
        with path.open("rb") as f:
            header = read_header(f, path.stat().st_size)
    except WireError as error:
        return _onnx_rejected(f"the ONNX protobuf is corrupt or truncated ({error})")
    refused = _refused_header(header, limits or SizeLimits())
    if refused:
        return _onnx_rejected(refused)
    onnx_checker, ort = _onnx_modules()
    try:
        onnx_checker.check_model(str(path))  # by path: the C++ checker reads the file itself
    except Exception as error:  # any failure on untrusted input is a reason, not a crash
        return _onnx_rejected(f"onnx.checker refused the model: {_clean(str(error), path)}")
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    options.intra_op_num_threads = 1
    try:
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as error:
        return _onnx_rejected(f"onnxruntime could not load the model: {_clean(str(error), path)}")
    signature = {
        "inputs": [_tensor_spec(arg) for arg in session.get_inputs()],
        "outputs": [_tensor_spec(arg) for arg in session.get_outputs()],
        **_header_fields(header),
    }
    return Verdict("onnx", framework="onnx", signature=signature)


def _refused_header(header: OnnxHeader, limits: SizeLimits) -> str | None:
    if not header.has_graph:
        return "the ONNX model has no graph"
    if header.external_data:
        return "the model keeps tensors in external data files; upload one self-contained .onnx"
    if header.nodes > limits.max_nodes:
        return f"the model has {header.nodes} nodes; at most {limits.max_nodes} are accepted"
    if header.expanded_bytes > limits.max_expanded_bytes:
        name, grown = header.largest
        return (
            f"the model's tensors declare {header.expanded_bytes} bytes more than the file "
            f"holds for them (sparse tensors, tensors short of their data, or constant "
            f"shapes grow to that when loaded; {_clean_name(name)} alone by {grown}); at "
            f"most {limits.max_expanded_bytes} are accepted"
        )
    return None


def _clean_name(name: str) -> str:
    return repr(" ".join(name.split())[:80])


def _onnx_modules() -> tuple[Any, Any]:
    try:
        return importlib.import_module("onnx.checker"), importlib.import_module("onnxruntime")
    except ImportError:
        raise Unavailable(
            "this server cannot validate ONNX models: install onnx and onnxruntime",
            code="validation_unavailable",
        ) from None


def _header_fields(header: OnnxHeader) -> dict[str, Any]:
    producer = f"{header.producer} {header.producer_version}".strip()
    return {
        "opset": header.opsets.get("ai.onnx"),
        # A list, not a dict: domains hold dots, which document stores refuse in keys.
        "opset_imports": [{"domain": d, "version": v} for d, v in sorted(header.opsets.items())],
        "ir_version": header.ir_version,
        "producer": producer,
    }


def _tensor_spec(arg: Any) -> dict[str, Any]:
    kind: str = arg.type
    dtype = kind
    if kind.startswith("tensor(") and kind.endswith(")"):
        inner = kind[len("tensor(") : -1]
        dtype = _FLOATS.get(inner, inner)
    shape = arg.shape if isinstance(arg.shape, list) else None
    # A dimension is its size, its symbolic name (e.g. "batch"), or null when unnamed.
    dims = [d if isinstance(d, int | str) else None for d in shape] if shape is not None else None
    return {"name": arg.name, "dtype": dtype, "shape": dims}


def _onnx_rejected(reason: str) -> Verdict:
    return Verdict("onnx", reasons=(reason,))


def _clean(message: str, path: Path) -> str:
    """The message without our file system paths, and of a bounded length."""
    for where in (str(path), str(path.parent)):
        message = message.replace(where, "model.onnx" if where == str(path) else "<upload>")
    message = " ".join(message.split())
    return message[:MAX_REASON]


class TorchExportConverter:
    """torch.export programs to ONNX (dynamo exporter). TorchScript is not converted: it
    records no example inputs. Only built when torch is importable (the `torch` extra)."""

    kinds = frozenset({"torch_export"})

    def convert(self, kind: str, source: Path, target: Path) -> None:
        torch: Any = importlib.import_module("torch")
        try:
            program = torch.export.load(str(source))
            torch.onnx.export(program, (), str(target), dynamo=True)
        except Exception as error:
            raise ConversionFailed(
                f"torch could not convert the program to ONNX: {error}"
            ) from None


def torch_converter() -> Converter | None:
    return TorchExportConverter() if importlib.util.find_spec("torch") is not None else None
