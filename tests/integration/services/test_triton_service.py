"""Triton loads a model the test builds (ONNX, run by a Python-backend model.py) and infers."""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
import pytest
import tritonclient.http as triton_http
from onnx import TensorProto, helper

from tests.plugins.services import TritonEndpoint

# The Python backend runs this with the interpreter of Triton's own venv,
# which has numpy and onnxruntime.
MODEL_PY = textwrap.dedent(
    """
    from pathlib import Path

    import numpy as np
    import onnxruntime as ort
    import triton_python_backend_utils as pb_utils


    class TritonPythonModel:
        def initialize(self, args):
            here = Path(args["model_repository"]) / args["model_version"]
            self.session = ort.InferenceSession(
                str(here / "model.onnx"), providers=["CPUExecutionProvider"]
            )

        def execute(self, requests):
            responses = []
            for request in requests:
                x = pb_utils.get_input_tensor_by_name(request, "x").as_numpy()
                (y,) = self.session.run(["y"], {"x": x})
                tensor = pb_utils.Tensor("y", y.astype(np.float32))
                responses.append(pb_utils.InferenceResponse([tensor]))
            return responses
    """
)


def affine_onnx_model() -> onnx.ModelProto:
    """y = x * 2 + 1 over float32 [-1, 4]."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 4])
    two = helper.make_tensor("two", TensorProto.FLOAT, [], [2.0])
    one = helper.make_tensor("one", TensorProto.FLOAT, [], [1.0])
    nodes = [
        helper.make_node("Mul", ["x", "two"], ["xx"]),
        helper.make_node("Add", ["xx", "one"], ["y"]),
    ]
    graph = helper.make_graph(nodes, "affine", [x], [y], [two, one])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8  # readable by every onnxruntime the Triton venv may hold
    onnx.checker.check_model(model)
    return model


def write_model(repository: Path, name: str) -> Path:
    version_dir = repository / name / "1"
    version_dir.mkdir(parents=True)
    onnx.save(affine_onnx_model(), version_dir / "model.onnx")
    (version_dir / "model.py").write_text(MODEL_PY)
    (repository / name / "config.pbtxt").write_text(
        textwrap.dedent(
            f"""
            name: "{name}"
            backend: "python"
            max_batch_size: 0
            input [ {{ name: "x" data_type: TYPE_FP32 dims: [ -1, 4 ] }} ]
            output [ {{ name: "y" data_type: TYPE_FP32 dims: [ -1, 4 ] }} ]
            instance_group [ {{ kind: KIND_CPU count: 1 }} ]
            """
        )
    )
    return repository / name


@pytest.mark.services("triton")
def test_model_built_by_the_test_is_loaded_and_answers_infer(
    triton: TritonEndpoint, unique_name: Callable[..., str]
) -> None:
    name = unique_name("affine")
    model_dir = write_model(triton.model_repository, name)
    client = triton_http.InferenceServerClient(triton.http_url, network_timeout=60.0)
    try:
        client.load_model(name)
        assert client.is_model_ready(name)
        xs = np.arange(8, dtype=np.float32).reshape(2, 4)
        request = triton_http.InferInput("x", list(xs.shape), "FP32")
        request.set_data_from_numpy(xs)
        result = client.infer(name, [request], outputs=[triton_http.InferRequestedOutput("y")])
        np.testing.assert_allclose(result.as_numpy("y"), xs * 2 + 1)
        client.unload_model(name)
    finally:
        client.close()
        shutil.rmtree(model_dir, ignore_errors=True)
