"""Write a tiny real ONNX model to try the marketplace with: y = x @ W, x of shape
(batch, 4), float32. Usage: .venv/bin/python docs/examples/tiny_model.py model.onnx"""

from __future__ import annotations

import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper


def tiny_model() -> bytes:
    weights = numpy_helper.from_array(np.arange(8, dtype=np.float32).reshape(4, 2), "W")
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 2])
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["y"])], "tiny", [x], [y], [weights]
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 9
    return bytes(model.SerializeToString())


if __name__ == "__main__":
    with open(sys.argv[1] if len(sys.argv) > 1 else "model.onnx", "wb") as out:
        out.write(tiny_model())
