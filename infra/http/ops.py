"""Operations endpoints that belong to the deployment rather than the API: metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse

from infra.monitor import PipelineMonitor

router = APIRouter(tags=["ops"])


@router.get("/metrics", response_class=PlainTextResponse)
def metrics(request: Request) -> str:
    """Prometheus text: event store and relay positions, each read model's lag."""
    monitor: PipelineMonitor = request.app.state.container.read.monitor
    return monitor.prometheus()
