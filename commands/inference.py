"""The inference command handler: who may call, what the call costs, the engine, a usage
record. (Skeleton: the interface the jobs and the routes build on; filled in next.)"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from domain.principal import Principal


@dataclass(frozen=True)
class Cost:
    units: int
    amount: int  # minor units; 0 inside the free tier
    currency: str


@dataclass(frozen=True)
class InferenceResult:
    request_id: str
    model_id: UUID
    version: str
    outputs: dict[str, Any]  # encoded as the caller asked (nested lists or base64)
    timings_ms: dict[str, float]  # queue, compute, total
    cost: Cost
    cached: bool = False
    cold_start: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id,
            "model_id": str(self.model_id),
            "version": self.version,
            "outputs": self.outputs,
            "timings_ms": self.timings_ms,
            "cost": {
                "units": self.cost.units,
                "amount": self.cost.amount,
                "currency": self.cost.currency,
            },
            "cached": self.cached,
            "cold_start": self.cold_start,
        }


class InferenceService:
    async def admit(self, caller: Principal, model_id: UUID, version: str | None) -> None:
        """Everything but the call itself: visible, callable, entitled, within limits.
        Raises the error the call would; jobs check this before they are queued."""
        raise NotImplementedError

    async def infer(
        self,
        caller: Principal,
        model_id: UUID,
        version: str | None,
        inputs: Mapping[str, Any],
        request_id: str,
        output_format: str = "json",
    ) -> InferenceResult:
        raise NotImplementedError
