"""Triton's Python backend model: runs the version's ONNX file with onnxruntime.

Copied into each repository entry as `1/model.py`; Triton runs it with its own venv's
Python (numpy and onnxruntime, nothing of aimarket). With dynamic batching Triton hands
`execute` several requests at once: their inputs are stacked along the batch axis, the
session runs once, and the outputs are split back by each request's batch size; batching
gains nothing otherwise. The stacking helpers are pure, so the app's tests import them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

try:  # only inside Triton; the helpers below are imported by tests without it
    import triton_python_backend_utils as pb_utils
except ImportError:  # pragma: no cover - outside Triton
    pb_utils = None

Tensors = dict[str, np.ndarray]


def stack(requests: list[Tensors]) -> tuple[Tensors, list[int]] | None:
    """The requests' inputs concatenated along axis 0, and each request's batch size;
    None when they cannot be stacked (different names or trailing shapes)."""
    first = requests[0]
    for other in requests[1:]:
        if other.keys() != first.keys() or any(
            other[n].shape[1:] != first[n].shape[1:] or other[n].dtype != first[n].dtype
            for n in first
        ):
            return None
    sizes = [next(iter(r.values())).shape[0] if r else 0 for r in requests]
    if len(requests) == 1:
        return first, sizes
    return {n: np.concatenate([r[n] for r in requests], axis=0) for n in first}, sizes


def split(outputs: Tensors, sizes: list[int]) -> list[Tensors]:
    """The outputs of one stacked run, back per request (views, not copies)."""
    bounds = np.cumsum(sizes)[:-1]
    parts = {n: np.split(value, bounds, axis=0) for n, value in outputs.items()}
    return [{n: parts[n][i] for n in outputs} for i in range(len(sizes))]


class TritonPythonModel:
    def initialize(self, args: dict[str, Any]) -> None:
        import onnxruntime as ort

        config = json.loads(args["model_config"])
        self.inputs = [spec["name"] for spec in config["input"]]
        self.outputs = [spec["name"] for spec in config["output"]]
        self.batched = int(config.get("max_batch_size", 0)) > 0
        path = Path(args["model_repository"]) / args["model_version"] / "model.onnx"
        self.session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])

    def _run(self, feeds: Tensors) -> Tensors:
        return dict(zip(self.outputs, self.session.run(self.outputs, feeds), strict=True))

    def _feeds(self, request: Any) -> Tensors:
        return {n: pb_utils.get_input_tensor_by_name(request, n).as_numpy() for n in self.inputs}

    def execute(self, requests: list[Any]) -> list[Any]:
        feeds = [self._feeds(r) for r in requests]
        stacked = stack(feeds) if self.batched else None
        if stacked is not None:
            try:
                results = split(self._run(stacked[0]), stacked[1])
            except Exception as error:  # the model's own failure, told to every caller
                return [_error(error) for _ in requests]
            return [_response(r) for r in results]
        responses = []
        for one in feeds:  # not stackable: one run per request
            try:
                responses.append(_response(self._run(one)))
            except Exception as error:
                responses.append(_error(error))
        return responses


def _response(outputs: Tensors) -> Any:
    return pb_utils.InferenceResponse([pb_utils.Tensor(n, v) for n, v in outputs.items()])


def _error(error: Exception) -> Any:
    return pb_utils.InferenceResponse(error=pb_utils.TritonError(str(error)))
