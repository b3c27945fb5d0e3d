"""The embedded profile deploys in process: a version published over HTTP is loaded into
onnxruntime by the deployer thread, and the publisher sees where each version stands
(the engine's words only for the publisher)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient

from domain.model import Model
from infra.blobs import FilesystemBlobStore
from infra.bootstrap import Container
from tests.integration.services.test_triton_service import affine_onnx_model
from tests.pipeline import wait_until
from tests.support import Account, verified_account

SIGNATURE = {
    "inputs": [{"name": "x", "dtype": "float32", "shape": ["batch", 4]}],
    "outputs": [{"name": "y", "dtype": "float32", "shape": ["batch", 4]}],
}


@pytest.fixture(params=["embedded"])
def profile(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def published(client: TestClient, container: Container, owner: Account, artifact: bytes) -> str:
    body = {"slug": f"m-{uuid4().hex[:12]}", "name": "Affine", "visibility": "public"}
    model_id = client.post("/v1/models", json=body, headers=owner.headers).json()["id"]
    digest = "sha256:" + hashlib.sha256(artifact).hexdigest()
    blobs = FilesystemBlobStore(container.settings.blob_root())
    staged = container.settings.data_dir / f"{uuid4().hex}.part"
    staged.write_bytes(artifact)
    blobs.put_file(staged, digest)
    model = container.app.load(Model, UUID(model_id))  # uploads are another command's work
    model.upload_version("1.0.0", digest, len(artifact), uuid4())
    model.validate_version("1.0.0", "onnx", SIGNATURE)
    container.app.save(model)
    url = f"/v1/models/{model_id}/versions/1.0.0/publish"
    assert client.post(url, headers=owner.headers).status_code == 200
    return str(model_id)


def deployment(client: TestClient, model_id: str, viewer: Account) -> Any:
    detail = client.get(f"/v1/models/{model_id}", headers=viewer.headers).json()
    return detail["versions"][0]["deployment"]


def test_a_published_version_is_deployed_in_process_and_its_status_shown(
    client: TestClient, container: Container, outbox: Path
) -> None:
    owner = verified_account(client, outbox, role="publisher")
    model_id = published(client, container, owner, affine_onnx_model().SerializeToString())
    wait_until(lambda: deployment(client, model_id, owner)["status"] == "deployed", 30, "deploy")
    assert deployment(client, model_id, owner) == {"status": "deployed", "error": None}


def test_a_refused_version_shows_the_engines_words_to_its_publisher_only(
    client: TestClient, container: Container, outbox: Path
) -> None:
    owner = verified_account(client, outbox, role="publisher")
    other = verified_account(client, outbox)
    model_id = published(client, container, owner, b"no ONNX at all " + uuid4().bytes)
    wait_until(lambda: deployment(client, model_id, owner)["status"] == "failed", 30, "failure")
    assert "Protobuf parsing failed" in deployment(client, model_id, owner)["error"]
    assert deployment(client, model_id, other) == {"status": "failed", "error": None}
