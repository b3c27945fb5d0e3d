"""A circuit breaker around the inference engine (pybreaker): after `fail_max` calls in a
row that could not reach it, calls fail fast for `reset_timeout_s` with 503
`upstream_unavailable` and a Retry-After; then one trial call decides (half-open).

Only the engine's own unavailability counts: a model's error on bad inputs, a version
still loading or never deployed say nothing about the engine's health."""

from __future__ import annotations

import math

import numpy as np
import pybreaker

from commands.inference_ports import Deployment, EngineResult, InferenceEngine, UpstreamUnavailable
from domain.errors import UpstreamTimedOut


def _healthy_answer(error: BaseException) -> bool:
    return not isinstance(error, UpstreamUnavailable | UpstreamTimedOut)


class GuardedEngine:
    def __init__(self, engine: InferenceEngine, fail_max: int, reset_timeout_s: float) -> None:
        self._engine = engine
        self._reset_timeout_s = reset_timeout_s
        self.breaker = pybreaker.CircuitBreaker(
            fail_max=fail_max, reset_timeout=reset_timeout_s, exclude=[_healthy_answer]
        )

    @property
    def state(self) -> str:
        return str(self.breaker.current_state)

    async def infer(
        self, target: Deployment, inputs: dict[str, np.ndarray], timeout_s: float
    ) -> EngineResult:
        try:
            with self.breaker.calling():
                return await self._engine.infer(target, inputs, timeout_s)
        except pybreaker.CircuitBreakerError:
            raise UpstreamUnavailable(
                "the inference engine is failing; calls are paused for a moment",
                retry_after_s=max(1, math.ceil(self._reset_timeout_s)),
            ) from None
