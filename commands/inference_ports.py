"""The ports inference needs: an engine that runs a deployed version, a deployer that puts
a version on the engine (Triton in the cluster, onnxruntime in process when embedded), and
the errors both answer with, told apart so a caller knows whether to retry."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

import numpy as np

from domain.errors import Unavailable, UpstreamFailed, UpstreamTimedOut

LOADING_RETRY_AFTER_S = 2
_UNSAFE = re.compile(r"[^A-Za-z0-9_]")


@dataclass(frozen=True)
class Deployment:
    """One published version as an engine sees it."""

    model_id: UUID
    version: str  # canonical semver
    digest: str  # sha256:<hex> of the ONNX artifact in the blob store
    signature: dict[str, Any]  # as stored at validation: inputs, outputs, opset, ...

    @property
    def engine_name(self) -> str:
        """The engine's name for this version (a Triton model name: letters, digits, _)."""
        return f"m{self.model_id.hex}_v{_UNSAFE.sub('_', self.version)}"


@dataclass(frozen=True)
class EngineResult:
    outputs: dict[str, np.ndarray]
    queue_ms: float  # waiting in the engine's queue (Triton's dynamic batcher)
    compute_ms: float  # running the model
    cold_start: bool = False  # the engine had to load the version for this call


class InferenceEngine(Protocol):
    async def infer(
        self, target: Deployment, inputs: dict[str, np.ndarray], timeout_s: float
    ) -> EngineResult:
        """Run `target` on `inputs` (already checked against its signature). Raises
        ModelLoading, ModelUnavailable, UpstreamUnavailable, UpstreamTimedOut or
        UpstreamFailed; nothing else on purpose."""
        ...


class ModelDeployer(Protocol):
    def deploy(self, target: Deployment) -> None:
        """Put `target` on the engine, loaded and warmed up; DeploymentFailed with the
        engine's own words when it cannot. Idempotent."""
        ...

    def undeploy(self, target: Deployment) -> None:
        """Take `target` off the engine; idempotent."""
        ...


class DeploymentFailed(Exception):
    """The engine refused a version; the message is its error text, shown to the publisher."""


class ModelLoading(Unavailable):
    code = "model_loading"

    def __init__(self, message: str) -> None:
        super().__init__(message, retry_after_s=LOADING_RETRY_AFTER_S)


class ModelUnavailable(Unavailable):
    """The version's deployment failed or it is not deployed: retrying will not help."""

    code = "model_unavailable"


class UpstreamUnavailable(Unavailable):
    """The engine cannot be reached, or the circuit breaker is open."""

    code = "upstream_unavailable"


__all__ = [
    "Deployment",
    "DeploymentFailed",
    "EngineResult",
    "InferenceEngine",
    "ModelDeployer",
    "ModelLoading",
    "ModelUnavailable",
    "UpstreamFailed",
    "UpstreamTimedOut",
    "UpstreamUnavailable",
]
