"""Set-ups the inference tests share: a real ONNX model uploaded, published and deployed
through the API, callers with keys, and the same model run by onnxruntime directly."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any
from uuid import UUID

import numpy as np
import onnxruntime as ort
import pytest
from fastapi.testclient import TestClient
from onnx import TensorProto, helper, numpy_helper

from domain.model import DeploymentStatus, Model
from infra.bootstrap import Container
from infra.settings import Settings
from tests.support import Account

PART = 1024
WEIGHTS = np.random.default_rng(7).standard_normal((4, 3)).astype(np.float32)


def affine_model(weights: np.ndarray = WEIGHTS) -> bytes:
    """y = x @ W + 1 with a dynamic batch: x (batch, 4) float32 -> y (batch, 3)."""
    w = numpy_helper.from_array(weights, "W")
    one = numpy_helper.from_array(np.ones((weights.shape[1],), dtype=np.float32), "one")
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", weights.shape[0]])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", weights.shape[1]])
    nodes = [
        helper.make_node("MatMul", ["x", "W"], ["xw"]),
        helper.make_node("Add", ["xw", "one"], ["y"]),
    ]
    graph = helper.make_graph(nodes, "affine", [x], [y], [w, one])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return bytes(model.SerializeToString())


def image_model(shape: tuple[int, int, int] = (3, 8, 8)) -> bytes:
    """y = flatten(image) @ W + 1: image (batch, *shape) float32 -> y (batch, 2), each
    output a different weighting of every pixel, so a pixel out of place changes it."""
    size = shape[0] * shape[1] * shape[2]
    weights = np.random.default_rng(9).standard_normal((size, 2)).astype(np.float32)
    w = numpy_helper.from_array(weights, "W")
    one = numpy_helper.from_array(np.ones((2,), dtype=np.float32), "one")
    image = helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", *shape])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 2])
    nodes = [
        helper.make_node("Flatten", ["image"], ["flat"], axis=1),
        helper.make_node("MatMul", ["flat", "W"], ["xw"]),
        helper.make_node("Add", ["xw", "one"], ["y"]),
    ]
    graph = helper.make_graph(nodes, "image", [image], [y], [w, one])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return bytes(model.SerializeToString())


def run_directly(model: bytes, x: np.ndarray, name: str = "x") -> np.ndarray:
    """Output `y` of `model` given `x` as its input `name`, by onnxruntime itself."""
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    (y,) = session.run(["y"], {name: x})
    return np.asarray(y)


def on_triton(
    settings: Settings, profile: str, request: pytest.FixtureRequest, *workers: str
) -> Settings:
    """The cluster profile calling the real Triton with `aimarket worker deployer` (and the
    named module-scoped worker fixtures) running; the embedded profile as it is."""
    if profile != "cluster":
        return settings
    for fixture in ("cluster_deployer", *workers):
        request.getfixturevalue(fixture)
    cluster: Settings = request.getfixturevalue("cluster_inference_settings")
    return cluster


def create_model(client: TestClient, owner: Account, **details: Any) -> str:
    body = {"slug": f"m-{uuid.uuid4().hex[:10]}", "name": "Affine", "visibility": "public"}
    response = client.post("/v1/models", json={**body, **details}, headers=owner.headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def upload_and_publish(
    client: TestClient, owner: Account, model_id: str, content: bytes, version: str = "1.0.0"
) -> None:
    import hashlib

    body = {
        "version": version,
        "size": len(content),
        "sha256": hashlib.sha256(content).hexdigest(),
        "part_size": PART,
    }
    started = client.post(f"/v1/models/{model_id}/uploads", json=body, headers=owner.headers)
    assert started.status_code == 201, started.text
    upload_id = started.json()["upload_id"]
    for n, start in enumerate(range(0, len(content), PART), start=1):
        part = content[start : start + PART]
        put = client.put(
            f"/v1/uploads/{upload_id}/parts/{n}",
            content=part,
            headers={**owner.headers, "Content-Type": "application/octet-stream"},
        )
        assert put.status_code == 200, put.text
    done = client.post(f"/v1/uploads/{upload_id}/complete", headers=owner.headers)
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "validated", done.text
    published = client.post(
        f"/v1/models/{model_id}/versions/{version}/publish", headers=owner.headers
    )
    assert published.status_code == 200, published.text


def deployed_model(
    client: TestClient, container: Container, publisher: Account, **details: Any
) -> str:
    """The affine model created with `details`, published and deployed: its id."""
    model_id = create_model(client, publisher, **details)
    upload_and_publish(client, publisher, model_id, affine_model())
    assert wait_deployed(container, model_id) == "deployed"
    return model_id


def wait_deployed(container: Container, model_id: str, version: str = "1.0.0") -> str:
    """The version's deployment status once the deployer has reported (deployed or failed)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        model = container.app.load(Model, UUID(model_id))
        status = model.deployment_status(version)
        if status != DeploymentStatus.DEPLOYING:
            return str(status.value)
        time.sleep(0.05)
    raise AssertionError(f"{model_id} {version} was not deployed in time")


def api_key(
    client: TestClient, account: Account, scopes: tuple[str, ...] = ("inference",)
) -> dict[str, str]:
    created = client.post(
        "/v1/auth/api-keys", json={"name": "calls", "scopes": list(scopes)}, headers=account.headers
    )
    assert created.status_code == 201, created.text
    return {"X-API-Key": created.json()["key"]}


def infer(
    client: TestClient, headers: dict[str, str], model_id: str, inputs: Any, **extra: Any
) -> Any:
    return client.post(
        f"/v1/models/{model_id}/infer", json={"inputs": inputs, **extra}, headers=headers
    )


def code(response: Any) -> str:
    return str(response.json()["error"]["code"])


def data_dir(container: Container) -> Path:
    return container.settings.data_dir
