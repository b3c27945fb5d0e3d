"""Audit: any aggregate's events in order, and its state now or at a past version
(admin). These read the event store on purpose: it is the record."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from infra.http.deps import Admin, Use
from infra.http.params import Version
from infra.http.schemas import audit as schemas
from projections.cursor import MAX_INT64
from queries.audit import AuditQueries

router = APIRouter(prefix="/v1", tags=["audit"])
Audit = Annotated[AuditQueries, Use(AuditQueries)]


@router.get("/audit/aggregates/{aggregate_id}/events", response_model=schemas.EventsPage)
def aggregate_events(
    aggregate_id: UUID,
    admin: Admin,
    audit: Audit,
    after_version: Annotated[int, Query(ge=0, le=MAX_INT64)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> schemas.EventsPage:
    """Every event of one aggregate, oldest first, secrets masked (admin)."""
    items = audit.events(aggregate_id, after_version, limit)
    more = len(items) == limit
    return schemas.EventsPage(
        items=items, next_after_version=items[-1]["version"] if more else None
    )


@router.get("/audit/aggregates/{aggregate_id}/state", response_model=schemas.AggregateState)
def aggregate_state(
    aggregate_id: UUID,
    admin: Admin,
    audit: Audit,
    version: Version | None = None,
) -> schemas.AggregateState:
    """An aggregate's state now, or as it was at `version` (admin)."""
    return schemas.AggregateState.model_validate(audit.state(aggregate_id, version))
