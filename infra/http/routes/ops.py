"""Operations: liveness, readiness, and Prometheus metrics of the pipeline."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST

from infra.http.deps import Use
from infra.metrics_export import render
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


@router.get("/metrics", response_class=Response)
def metrics(monitor: Annotated[PipelineMonitor, Use(PipelineMonitor)]) -> Response:
    """Prometheus text: requests, inference, usage, revenue, saga outcomes, and the
    event store and relay positions and each read model's lag."""
    return Response(render(monitor), media_type=CONTENT_TYPE_LATEST)
