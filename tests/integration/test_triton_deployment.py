"""Published versions deployed onto the real Triton by the deployer worker, and called
through TritonEngine: ready and warmed up, answering as onnxruntime does; refused ones
recorded with Triton's words and leaving nothing; unloaded with their model; batched by
the Python backend; Triton's errors told apart."""

from __future__ import annotations

import asyncio
import hashlib
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import numpy as np
import onnxruntime as ort
import pytest
import tritonclient.grpc as grpcclient

from commands.deployments import DeploymentCommands
from commands.event_store import EventStore
from commands.inference_ports import (
    Deployment,
    ModelLoading,
    ModelUnavailable,
    UpstreamTimedOut,
    UpstreamUnavailable,
)
from domain.model import DeploymentStatus, Model
from domain.pricing import FREE
from infra.blobs import FilesystemBlobStore
from infra.inference.triton_deployer import TritonDeployer
from infra.inference.triton_engine import TritonEngine
from infra.inference.triton_repository import RepositoryOptions, TritonRepository
from infra.settings import Settings
from infra.stores import open_marketplace, read_stores
from tests.integration.services.test_triton_service import affine_onnx_model
from tests.plugins.services import TritonEndpoint
from workers.deployer import Deployer, DeployerWorker

pytestmark = pytest.mark.services("triton")

SIGNATURE = {
    "inputs": [{"name": "x", "dtype": "float32", "shape": ["batch", 4]}],
    "outputs": [{"name": "y", "dtype": "float32", "shape": ["batch", 4]}],
}


@dataclass
class Stage:
    app: EventStore
    worker: DeployerWorker
    blobs: FilesystemBlobStore
    triton: TritonEndpoint
    client: grpcclient.InferenceServerClient

    def publish(self, artifact: bytes, signature: dict[str, Any] = SIGNATURE) -> Deployment:
        digest = "sha256:" + hashlib.sha256(artifact).hexdigest()
        if not self.blobs.exists(digest):
            staged = self.blobs.root / f"{uuid4().hex}.part"
            staged.parent.mkdir(parents=True, exist_ok=True)
            staged.write_bytes(artifact)
            self.blobs.put_file(staged, digest)
        model = Model(uuid4(), "P", f"m-{uuid4().hex[:8]}", {"name": "Affine"}, FREE.as_dict())
        model.upload_version("1.0.0", digest, len(artifact), uuid4())
        model.validate_version("1.0.0", "onnx", signature)
        model.publish_version("1.0.0")
        self.app.save(model)
        return Deployment(model.id, "1.0.0", digest, signature)

    def deployment(self, model_id: UUID) -> dict[str, Any]:
        info: dict[str, Any] = self.app.load(Model, model_id).versions["1.0.0"]["deployment"]
        return info

    def entry(self, target: Deployment) -> Path:
        return self.triton.model_repository / target.engine_name

    def stats(self, target: Deployment) -> dict[str, Any]:
        found: Any = self.client.get_inference_statistics(target.engine_name, as_json=True)
        return dict(found["model_stats"][0])

    def undeploy(self, target: Deployment) -> None:
        self.worker.deployer.engine.undeploy(target)


def affine_bytes() -> bytes:
    return affine_onnx_model().SerializeToString()


@pytest.fixture
def stage(triton: TritonEndpoint, tmp_path: Path) -> Iterator[Stage]:
    settings = Settings(profile="embedded", data_dir=tmp_path)
    app = open_marketplace(settings)
    store, _ = read_stores(settings)
    blobs = FilesystemBlobStore(tmp_path / "blobs")
    # A long queue delay: the batching test's 16 calls surely meet in one execution.
    options = RepositoryOptions(max_queue_delay_us=20_000)
    deployer = TritonDeployer(
        TritonRepository(triton.model_repository, blobs, options), triton.grpc_url
    )
    commands = DeploymentCommands(app, "triton")
    worker = DeployerWorker(app, store, Deployer(commands, deployer))
    client = grpcclient.InferenceServerClient(triton.grpc_url)
    made = Stage(app, worker, blobs, triton, client)
    yield made
    client.close()
    deployer.close()
    app.close()


def test_a_published_version_is_deployed_warmed_up_and_answers_as_onnxruntime(
    stage: Stage,
) -> None:
    target = stage.publish(affine_bytes())
    assert stage.deployment(target.model_id)["status"] == DeploymentStatus.DEPLOYING
    assert stage.worker.run_once()
    try:
        assert stage.deployment(target.model_id) == {
            "status": "deployed", "engine": "triton", "error": None,
        }  # fmt: skip
        assert stage.client.is_model_ready(target.engine_name)
        assert int(stage.stats(target)["inference_stats"]["success"]["count"]) >= 1  # warm-up
        xs = np.random.default_rng(7).standard_normal((3, 4)).astype(np.float32)
        request = grpcclient.InferInput("x", [3, 4], "FP32")
        request.set_data_from_numpy(xs)
        answer = stage.client.infer(target.engine_name, [request]).as_numpy("y")
        session = ort.InferenceSession(affine_bytes(), providers=["CPUExecutionProvider"])
        np.testing.assert_allclose(answer, session.run(["y"], {"x": xs})[0], rtol=0, atol=1e-6)
        while stage.worker.run_once():  # its own Model.Deployed, passed over
            pass
        events = [type(e).__name__ for e in stage.app.history(target.model_id)]
        assert events.count("Deployed") == 1  # the publish and default move: deployed once
    finally:
        stage.undeploy(target)


def test_a_version_triton_refuses_is_recorded_with_its_words_and_leaves_nothing(
    stage: Stage,
) -> None:
    target = stage.publish(b"these bytes are no ONNX model " + uuid4().bytes)
    stage.worker.run_once()
    deployment = stage.deployment(target.model_id)
    assert deployment["status"] == "failed" and deployment["engine"] == "triton"
    assert f"load failed for model '{target.engine_name}'" in deployment["error"]
    assert "Protobuf parsing failed" in deployment["error"]  # onnxruntime's words, via Triton
    assert str(stage.triton.model_repository) not in deployment["error"]
    # Triton is ready again: a model that failed to load would keep it "not ready".
    wait_until(stage.client.is_server_ready, 10)
    assert not stage.entry(target).exists()
    assert not stage.client.is_model_ready(target.engine_name)
    names = [p.name for p in stage.triton.model_repository.iterdir()]
    assert not any(target.engine_name in name for name in names)  # no staging left either


def test_a_deprecated_model_is_unloaded_and_taken_out_of_the_repository(stage: Stage) -> None:
    target = stage.publish(affine_bytes())
    stage.worker.run_once()
    assert stage.client.is_model_ready(target.engine_name)
    model = stage.app.load(Model, target.model_id)
    model.deprecate("superseded")
    stage.app.save(model)
    stage.worker.run_once()
    assert not stage.client.is_model_ready(target.engine_name)
    assert not stage.entry(target).exists()
    assert stage.deployment(target.model_id)["status"] == "undeployed"


def test_the_python_backend_runs_concurrent_calls_as_one_batch(stage: Stage) -> None:
    target = stage.publish(affine_bytes())
    stage.worker.run_once()
    engine = TritonEngine(stage.triton.grpc_url)
    inputs = [np.full((1, 4), i, dtype=np.float32) for i in range(16)]

    async def calls() -> list[Any]:
        try:
            return await asyncio.gather(*(engine.infer(target, {"x": x}, 30) for x in inputs))
        finally:
            await engine.close()

    try:
        before = stage.stats(target)
        results = asyncio.run(calls())
        for x, result in zip(inputs, results, strict=True):  # each gets its own rows back
            np.testing.assert_array_equal(result.outputs["y"], x * 2 + 1)
        after = stage.stats(target)
        inferences = int(after["inference_count"]) - int(before["inference_count"])
        executions = int(after["execution_count"]) - int(before["execution_count"])
        assert inferences == 16 and executions < inferences
    finally:
        stage.undeploy(target)


# TritonEngine's errors

SLOW_MODEL_PY = textwrap.dedent(
    """
    import time

    import numpy as np
    import triton_python_backend_utils as pb_utils


    class TritonPythonModel:
        def initialize(self, args):
            time.sleep(4)

        def execute(self, requests):
            time.sleep(2)
            return [
                pb_utils.InferenceResponse([pb_utils.Tensor("y", np.zeros((1, 4), np.float32))])
                for _ in requests
            ]
    """
)


def slow_entry(repository: Path, name: str) -> None:
    (repository / name / "1").mkdir(parents=True)
    (repository / name / "1" / "model.py").write_text(SLOW_MODEL_PY)
    (repository / name / "config.pbtxt").write_text(
        f'name: "{name}"\nbackend: "python"\nmax_batch_size: 0\n'
        'input [ { name: "x" data_type: TYPE_FP32 dims: [ 1, 4 ] } ]\n'
        'output [ { name: "y" data_type: TYPE_FP32 dims: [ 1, 4 ] } ]\n'
    )


def state_of(client: grpcclient.InferenceServerClient, name: str) -> str:
    index: Any = client.get_model_repository_index(as_json=True)
    return next((m.get("state", "") for m in index.get("models", []) if m["name"] == name), "")


def wait_until(check: Callable[[], bool], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.05)


def test_engine_tells_loading_unknown_slow_unloaded_and_unreachable_apart(stage: Stage) -> None:
    target = Deployment(uuid4(), "1.0.0", "sha256:" + "0" * 64, SIGNATURE)
    name, client = target.engine_name, stage.client
    slow_entry(stage.triton.model_repository, name)
    x = {"x": np.zeros((1, 4), np.float32)}
    loading = threading.Thread(target=lambda: client.load_model(name), daemon=True)

    async def run(engine: TritonEngine, timeout_s: float = 5.0) -> Any:
        try:
            return await engine.infer(target, x, timeout_s)
        finally:
            await engine.close()

    engine = TritonEngine(stage.triton.grpc_url)
    try:
        unknown = Deployment(uuid4(), "1.0.0", "sha256:" + "0" * 64, SIGNATURE)
        with pytest.raises(ModelUnavailable):  # not in the repository at all
            asyncio.run(engine.infer(unknown, x, 5.0))
        asyncio.run(engine.close())
        loading.start()
        wait_until(lambda: state_of(client, name) == "LOADING", 10)
        with pytest.raises(ModelLoading) as raised:
            asyncio.run(run(engine))
        assert raised.value.retry_after_s and raised.value.code == "model_loading"
        loading.join(30)
        with pytest.raises(UpstreamTimedOut):  # execute takes 2 s
            asyncio.run(run(engine, timeout_s=0.3))
        client.unload_model(name)  # as after a Triton restart: in the repository, not loaded
        wait_until(lambda: state_of(client, name) == "UNAVAILABLE", 30)
        cold = asyncio.run(run(engine, timeout_s=10.0))
        assert cold.cold_start and state_of(client, name) == "READY"
        with pytest.raises(UpstreamUnavailable):
            asyncio.run(run(TritonEngine("127.0.0.1:1")))
    finally:
        client.unload_model(name)
        stage.undeploy(target)
