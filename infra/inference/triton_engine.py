"""Runs deployed versions on Triton over gRPC (tritonclient's asyncio client).

One channel per process, made on first use and kept (gRPC multiplexes every call over
it); every call has a deadline. Triton's errors become the ports' errors, so a caller
tells a model still loading (503 model_loading, retry soon) from one that is not there
(503 model_unavailable) and from Triton itself failing (503/502/504).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import numpy as np
import tritonclient.grpc.aio as grpcaio
from tritonclient.grpc import InferInput
from tritonclient.utils import InferenceServerException, np_to_triton_dtype

from commands.inference_ports import (
    Deployment,
    EngineResult,
    ModelLoading,
    ModelUnavailable,
    UpstreamFailed,
    UpstreamTimedOut,
    UpstreamUnavailable,
)
from commands.tracing import traced_calls
from infra.inference.triton_tensors import error_text

STATE_TIMEOUT_S = 2.0  # the repository-index look-up made only after a "not found"
COLD_LOAD_TIMEOUT_S = 120.0


class _NotLoaded(Exception):
    """In Triton's repository but not loaded (unloaded, or Triton restarted): load it."""


@traced_calls("triton")
class TritonEngine:
    def __init__(self, grpc_url: str) -> None:
        self.url = grpc_url
        self._client: grpcaio.InferenceServerClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loading: dict[str, asyncio.Lock] = {}

    def _connected(self) -> grpcaio.InferenceServerClient:
        # A gRPC aio channel belongs to the loop it was made on; a server has one loop.
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            self._client, self._loop = grpcaio.InferenceServerClient(self.url), loop
        return self._client

    async def close(self) -> None:
        client, self._client, self._loop = self._client, None, None
        if client is not None:
            await client.close()

    async def infer(
        self, target: Deployment, inputs: dict[str, np.ndarray], timeout_s: float
    ) -> EngineResult:
        try:
            return await self._infer(target, inputs, timeout_s)
        except _NotLoaded:
            await self._load(target)
            result = await self._infer(target, inputs, timeout_s)
            return EngineResult(result.outputs, result.queue_ms, result.compute_ms, True)

    async def _load(self, target: Deployment) -> None:
        """A cold start: one load per version however many calls wait for it."""
        client = self._connected()
        lock = self._loading.setdefault(target.engine_name, asyncio.Lock())
        async with lock:
            try:
                await client.load_model(target.engine_name, client_timeout=COLD_LOAD_TIMEOUT_S)
            except InferenceServerException as error:
                raise ModelUnavailable(
                    f"version {target.version} could not be loaded: {error_text(error)}"
                ) from None

    async def _infer(
        self, target: Deployment, inputs: dict[str, np.ndarray], timeout_s: float
    ) -> EngineResult:
        client = self._connected()
        tensors = []
        for name, value in inputs.items():
            tensor = InferInput(name, list(value.shape), np_to_triton_dtype(value.dtype))
            tensor.set_data_from_numpy(value)
            tensors.append(tensor)
        started = time.perf_counter()
        try:
            result = await client.infer(target.engine_name, tensors, client_timeout=timeout_s)
        except InferenceServerException as error:
            raise await self._mapped(client, target, error) from None
        elapsed_ms = (time.perf_counter() - started) * 1000
        outputs = {spec["name"]: result.as_numpy(spec["name"]) for spec in _outputs(target)}
        # Triton's response carries no timings; its statistics call would double the round
        # trips. So compute_ms is the measured round trip (queue and network included) and
        # queue_ms is 0.
        return EngineResult(outputs, 0.0, elapsed_ms)

    async def _mapped(
        self, client: grpcaio.InferenceServerClient, target: Deployment, error: Any
    ) -> Exception:
        status, text = str(error.status()), error_text(error)
        if status == "StatusCode.UNAVAILABLE":
            return UpstreamUnavailable(f"Triton is out of reach: {text}")
        if status == "StatusCode.DEADLINE_EXCEEDED":
            return UpstreamTimedOut(f"Triton did not answer in time: {text}")
        if status == "StatusCode.NOT_FOUND" or "unknown model" in text:
            # Only now, on the error path: loading, in the repository but not loaded, or
            # not there at all?
            state = await _state(client, target.engine_name)
            if state == "LOADING":
                return ModelLoading(f"version {target.version} is still loading")
            if state in ("UNAVAILABLE", ""):
                return _NotLoaded()
            return ModelUnavailable(f"version {target.version} is not deployed")
        return UpstreamFailed(f"Triton: {text}")


async def _state(client: grpcaio.InferenceServerClient, name: str) -> str | None:
    try:
        index: Any = await client.get_model_repository_index(
            as_json=True, client_timeout=STATE_TIMEOUT_S
        )
    except InferenceServerException:
        return None
    found = (m for m in index.get("models", []) if m.get("name") == name)
    return next((str(m.get("state") or "") for m in found), None)


def _outputs(target: Deployment) -> list[dict[str, Any]]:
    outputs: list[dict[str, Any]] = target.signature.get("outputs", [])
    return outputs
