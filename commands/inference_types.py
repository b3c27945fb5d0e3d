"""What a call gives back (outputs, timings, its cost), the limits calls keep to, and the
port through which billing says a caller has paid."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

from domain.errors import DomainError


class PaidAccess(Protocol):
    def has_paid_access(self, consumer_id: UUID, model_id: UUID) -> bool:
        """A completed purchase or an active subscription (billing)."""
        ...


@dataclass(frozen=True)
class InferenceLimits:
    max_input_bytes: int = 8 * 1024 * 1024
    max_batch_items: int = 32
    timeout_s: float = 10.0
    calls_per_minute: int = 600  # per API key, or per user with a JWT, with paid access
    free_calls_per_minute: int = 60  # the same, on the free tier
    rate_fail_open: bool = True  # the bucket store unreachable: calls go on


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


@dataclass(frozen=True)
class BatchItem:
    result: InferenceResult | None = None
    error: DomainError | None = None
