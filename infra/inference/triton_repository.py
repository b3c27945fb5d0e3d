"""A published version as an entry of Triton's model repository:
`<engine_name>/config.pbtxt` and `<engine_name>/1/model.onnx` (plus `model.py` for the
Python backend). The engine name already carries the version, so Triton's own version
directory is always `1`.

The config is generated from the signature stored at validation; the functions that make
it are pure, so they are tested without a Triton.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from commands.inference_ports import Deployment
from infra.blobs import FilesystemBlobStore

Backend = Literal["python", "onnxruntime"]
MODEL_PY = Path(__file__).with_name("triton_model.py")

# Signature dtypes (numpy names, as validation stores them) -> Triton's.
TRITON_TYPES = {
    "float32": "TYPE_FP32", "float64": "TYPE_FP64", "float16": "TYPE_FP16",
    "bfloat16": "TYPE_BF16", "int8": "TYPE_INT8", "int16": "TYPE_INT16",
    "int32": "TYPE_INT32", "int64": "TYPE_INT64", "uint8": "TYPE_UINT8",
    "uint16": "TYPE_UINT16", "uint32": "TYPE_UINT32", "uint64": "TYPE_UINT64",
    "bool": "TYPE_BOOL", "string": "TYPE_STRING",
}  # fmt: skip


class UnservableSignature(ValueError):
    """The signature cannot be written as a Triton config (unknown dtype or rank), or the
    artifact it describes is not in the blob store."""


@dataclass(frozen=True)
class RepositoryOptions:
    backend: Backend = "python"
    max_batch_size: int = 32
    max_queue_delay_us: int = 100
    dynamic_batching: bool = True
    instances: int = 1


def _is_dynamic(dim: Any) -> bool:
    return not isinstance(dim, int) or isinstance(dim, bool) or dim < 0


def _shape(spec: dict[str, Any]) -> list[Any]:
    shape = spec.get("shape")
    if shape is None:
        raise UnservableSignature(f"tensor {spec.get('name')!r} has no known rank")
    return list(shape)


def is_batchable(signature: dict[str, Any]) -> bool:
    """Every input and output has a dynamic first dimension: Triton may stack requests."""
    specs = [*signature.get("inputs", []), *signature.get("outputs", [])]
    return bool(specs) and all(len(s := _shape(spec)) >= 1 and _is_dynamic(s[0]) for spec in specs)


def triton_dims(shape: Sequence[Any]) -> list[int]:
    """Dims as Triton writes them: -1 for a dynamic or symbolic one."""
    return [-1 if _is_dynamic(d) else int(d) for d in shape]


def _tensor_block(spec: dict[str, Any], batched: bool) -> str:
    dtype = TRITON_TYPES.get(str(spec.get("dtype")))
    if dtype is None:
        raise UnservableSignature(f"tensor {spec['name']!r} has dtype {spec.get('dtype')!r}")
    dims = triton_dims(_shape(spec)[1:] if batched else _shape(spec))
    # A scalar (or a batched vector) has no dims of its own: Triton wants [1], reshaped.
    reshape = " reshape: { shape: [ ] }" if not dims else ""
    written = ", ".join(str(d) for d in dims or [1])
    name = str(spec["name"]).replace("\\", "\\\\").replace('"', '\\"')
    return f'  {{ name: "{name}" data_type: {dtype} dims: [ {written} ]{reshape} }}'


def config_pbtxt(name: str, signature: dict[str, Any], options: RepositoryOptions) -> str:
    """Triton's config.pbtxt for `signature`."""
    batched = is_batchable(signature) and options.max_batch_size > 0
    if options.backend == "python":
        lines = [f'name: "{name}"', 'backend: "python"']
    else:
        lines = [f'name: "{name}"', 'platform: "onnxruntime_onnx"']
    lines.append(f"max_batch_size: {options.max_batch_size if batched else 0}")
    for kind in ("input", "output"):
        blocks = [_tensor_block(spec, batched) for spec in signature.get(f"{kind}s", [])]
        lines.append(f"{kind} [\n" + ",\n".join(blocks) + "\n]")
    if batched and options.dynamic_batching:
        lines.append(
            f"dynamic_batching {{ max_queue_delay_microseconds: {options.max_queue_delay_us} }}"
        )
    lines.append(f"instance_group [ {{ kind: KIND_CPU count: {options.instances} }} ]")
    return "\n".join(lines) + "\n"


def warmup_shape(spec: dict[str, Any]) -> list[int]:
    """A shape the signature accepts, smallest: batch 1, symbolic dims as 1."""
    return [1 if _is_dynamic(d) else int(d) for d in _shape(spec)]


class TritonRepository:
    """Writes and removes entries of the repository Triton serves from."""

    def __init__(self, root: Path, blobs: FilesystemBlobStore, options: RepositoryOptions) -> None:
        self.root, self.blobs, self.options = root, blobs, options

    def path_of(self, target: Deployment) -> Path:
        return self.root / target.engine_name

    def write(self, target: Deployment) -> Path:
        """Write the entry whole, then move it into place: Triton never sees half of one."""
        name = target.engine_name
        config = config_pbtxt(name, target.signature, self.options)
        staging = self.root / f".{name}.{uuid.uuid4().hex}.tmp"
        try:
            version_dir = staging / "1"
            version_dir.mkdir(parents=True)
            try:
                shutil.copyfile(self.blobs.path_of(target.digest), version_dir / "model.onnx")
            except FileNotFoundError:
                raise UnservableSignature(
                    f"artifact {target.digest} is not in the blob store"
                ) from None
            if self.options.backend == "python":
                shutil.copyfile(MODEL_PY, version_dir / "model.py")
            (staging / "config.pbtxt").write_text(config)
            final = self.path_of(target)
            shutil.rmtree(final, ignore_errors=True)
            staging.rename(final)
            return final
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def remove(self, target: Deployment) -> None:
        shutil.rmtree(self.path_of(target), ignore_errors=True)
