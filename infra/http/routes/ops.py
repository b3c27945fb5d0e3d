"""Operations: liveness, readiness, and Prometheus metrics of the pipeline."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse

from infra.http.deps import Use
from infra.monitor import PipelineMonitor
from queries.health import Readiness

router = APIRouter(tags=["ops"])


@router.get("/v1/health")
async def health() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/v1/ready")
def ready(readiness: Annotated[Readiness, Use(Readiness)]) -> dict[str, object]:
    """Every dependency of the profile, checked at once: `ok`, `latency_ms`, its breaker;
    503 `not_ready` (the same report under `error.details`) when a required one is down."""
    return readiness.check()


@router.get("/metrics", response_class=PlainTextResponse)
def metrics(monitor: Annotated[PipelineMonitor, Use(PipelineMonitor)]) -> str:
    """Prometheus text: event store and relay positions, each read model's lag."""
    return monitor.prometheus()
