"""The inference engine behind the `triton` breaker (infra/resilience.py): after enough
calls in a row that could not reach it, calls fail fast with 503 `upstream_unavailable`
and a Retry-After until a trial call gets through.

Only the engine's own unavailability counts: a model's error on bad inputs, a version
still loading or never deployed say nothing about the engine's health. Calls are not
retried here: the caller's deadline is the call's, and the 503 tells it when to retry."""

from __future__ import annotations

import numpy as np

from commands.inference_ports import Deployment, EngineResult, InferenceEngine, UpstreamUnavailable
from domain.errors import UpstreamTimedOut
from infra.resilience import Breaker, BreakerOpen, BreakerRegistry


def engine_failed(error: BaseException) -> bool:
    return isinstance(error, UpstreamUnavailable | UpstreamTimedOut)


class GuardedEngine:
    def __init__(self, engine: InferenceEngine, breakers: BreakerRegistry) -> None:
        self._engine = engine
        self.breaker: Breaker = breakers.get("triton", engine_failed)

    @property
    def state(self) -> str:
        return self.breaker.state

    async def infer(
        self, target: Deployment, inputs: dict[str, np.ndarray], timeout_s: float
    ) -> EngineResult:
        try:
            with self.breaker.calling():
                return await self._engine.infer(target, inputs, timeout_s)
        except BreakerOpen as open_:
            raise UpstreamUnavailable(
                "the inference engine is failing; calls are paused for a moment",
                retry_after_s=open_.retry_after_s,
            ) from None
