"""Puts published versions on Triton: the repository entry, `load_model` (Triton runs
with `--model-control-mode=explicit`), one warm-up call, so the first user call is not a
cold start. What Triton refuses becomes `DeploymentFailed` with its words, and leaves
nothing behind; Triton out of reach is transient (`UpstreamUnavailable`): the deployer
worker tries again rather than recording a failure that is not the model's."""

from __future__ import annotations

import contextlib
import json
import logging

import tritonclient.grpc as grpcclient
from tritonclient.utils import InferenceServerException, np_to_triton_dtype

from commands.inference_ports import Deployment, DeploymentFailed, UpstreamUnavailable
from infra.inference.triton_repository import TritonRepository, UnservableSignature
from infra.inference.triton_tensors import error_text, zeros_for

log = logging.getLogger("aimarket.deployer")
# A model that failed to load keeps Triton's server "not ready" (strict readiness) until
# one of that name is loaded and unloaded; this stand-in, sent with the load request
# itself, is that one.
_STAND_IN_CONFIG = json.dumps(
    {
        "backend": "python",
        "max_batch_size": 0,
        "input": [{"name": "x", "data_type": "TYPE_FP32", "dims": [1]}],
        "output": [{"name": "y", "data_type": "TYPE_FP32", "dims": [1]}],
    }
)
_STAND_IN_FILES = {
    "file:1/model.py": b"class TritonPythonModel:\n    def execute(self, requests):\n"
    b"        return []\n"
}
_TRANSIENT = ("StatusCode.UNAVAILABLE",)


class TritonDeployer:
    def __init__(
        self,
        repository: TritonRepository,
        grpc_url: str,
        load_timeout_s: float = 120.0,
        call_timeout_s: float = 30.0,
    ) -> None:
        self.repository, self.url = repository, grpc_url
        self.load_timeout_s, self.call_timeout_s = load_timeout_s, call_timeout_s
        self._client: grpcclient.InferenceServerClient | None = None

    @property
    def client(self) -> grpcclient.InferenceServerClient:
        if self._client is None:
            self._client = grpcclient.InferenceServerClient(self.url)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def deploy(self, target: Deployment) -> None:
        name = target.engine_name
        if self._is_ready(name):
            return  # an artifact never changes under its digest: nothing to redo
        try:
            self.repository.write(target)
            self.client.load_model(name, client_timeout=self.load_timeout_s)
            self._warm_up(target)
        except UnservableSignature as error:
            self._discard(target)
            raise DeploymentFailed(str(error)) from None
        except InferenceServerException as error:
            self._discard(target)
            if error.status() in _TRANSIENT:
                raise UpstreamUnavailable(f"Triton is out of reach: {error_text(error)}") from None
            raise DeploymentFailed(self._told(error)) from None
        log.info("deployed %s as %s", target.version, name)

    def undeploy(self, target: Deployment) -> None:
        self._unload(target.engine_name)
        self.repository.remove(target)

    def _told(self, error: InferenceServerException) -> str:
        """Triton's words, less where its repository lies on our disks."""
        return error_text(error).replace(f"{self.repository.root}/", "")

    def _is_ready(self, name: str) -> bool:
        try:
            return bool(self.client.is_model_ready(name, client_timeout=self.call_timeout_s))
        except InferenceServerException as error:
            if error.status() in _TRANSIENT:
                raise UpstreamUnavailable(f"Triton is out of reach: {error_text(error)}") from None
            return False

    def _warm_up(self, target: Deployment) -> None:
        inputs = []
        for spec in target.signature.get("inputs", []):
            zeros = zeros_for(spec)
            wire = np_to_triton_dtype(zeros.dtype)
            tensor = grpcclient.InferInput(spec["name"], list(zeros.shape), wire)
            tensor.set_data_from_numpy(zeros)
            inputs.append(tensor)
        self.client.infer(target.engine_name, inputs, client_timeout=self.call_timeout_s)

    def _unload(self, name: str) -> None:
        try:
            self.client.unload_model(name, client_timeout=self.call_timeout_s)
        except InferenceServerException as error:
            if error.status() in _TRANSIENT:
                raise UpstreamUnavailable(f"Triton is out of reach: {error_text(error)}") from None
            log.info("unloading %s: %s", name, error_text(error))  # not loaded: nothing to do

    def _discard(self, target: Deployment) -> None:
        """Leave nothing of a failed deployment: not loaded, not in the repository."""
        self.repository.remove(target)
        name = target.engine_name
        with contextlib.suppress(UpstreamUnavailable):  # Triton away: it holds nothing
            try:
                self.client.load_model(
                    name,
                    config=_STAND_IN_CONFIG,
                    files=_STAND_IN_FILES,
                    client_timeout=self.load_timeout_s,
                )
            except InferenceServerException as error:
                log.warning("stand-in for %s not loaded: %s", name, error_text(error))
            self._unload(name)
