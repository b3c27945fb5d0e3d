"""Query routes of gated access: a model's requests, the caller's requests, one request."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, cast
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel

from commands.http.deps import ModelReader, models_read
from projections.cursor import Cursor
from queries.access import AccessQueries
from queries.http.params import Limit, NextCursor, PageCursor, fresh_for

Status = Literal["pending", "approved", "rejected", "revoked"]


class AccessStep(BaseModel):
    step: str
    at: datetime
    answers: list[str] | None = None
    reason: str | None = None
    expires_at: datetime | None = None
    monthly_call_cap: int | None = None
    retry_after: datetime | None = None


class AccessRequestPublic(BaseModel):
    id: UUID
    model_id: UUID
    model_name: str
    consumer_name: str
    status: str
    active: bool  # approved and not expired: the consumer may call the model now
    questions: list[str]
    answers: list[str]
    rounds: int
    expires_at: datetime | None
    monthly_call_cap: int | None
    reason: str
    retry_after: datetime | None
    requested_at: datetime
    decided_at: datetime | None
    updated_at: datetime
    history: list[AccessStep]


class AccessRequestsPage(BaseModel):
    items: list[AccessRequestPublic]
    next_cursor: NextCursor


def get_access_queries(request: Request) -> AccessQueries:
    return cast(AccessQueries, request.app.state.access_queries)


AccessReads = Annotated[AccessQueries, Depends(get_access_queries)]

router = APIRouter(prefix="/v1", tags=["access"], dependencies=[fresh_for(models_read)])


def _page(items: list[dict[str, Any]], next_cursor: Cursor | None) -> AccessRequestsPage:
    return AccessRequestsPage.model_validate({"items": items, "next_cursor": next_cursor})


@router.get("/models/{model_id}/access-requests", response_model=AccessRequestsPage)
def model_requests(
    model_id: UUID,
    caller: ModelReader,
    queries: AccessReads,
    cursor: PageCursor,
    status: Status | None = None,
    limit: Limit = 50,
) -> AccessRequestsPage:
    """The model's access requests, latest activity first: all of them for its publisher
    and admins, only the caller's own for anyone else."""
    page = queries.for_model(caller, model_id, status, limit, cursor)
    return _page(page.items, page.next_cursor)


@router.get("/access-requests", response_model=AccessRequestsPage)
def my_requests(
    caller: ModelReader,
    queries: AccessReads,
    cursor: PageCursor,
    side: Annotated[
        Literal["consumer", "publisher"],
        Query(description="consumer: requests you made; publisher: requests to your models"),
    ] = "consumer",
    status: Status | None = None,
    limit: Limit = 50,
) -> AccessRequestsPage:
    """The caller's access requests across models, latest activity first."""
    page = queries.mine(caller, side, status, limit, cursor)
    return _page(page.items, page.next_cursor)


@router.get("/access-requests/{request_id}", response_model=AccessRequestPublic)
def one_request(request_id: UUID, caller: ModelReader, queries: AccessReads) -> AccessRequestPublic:
    """One access request with its history, for its consumer, the publisher and admins."""
    return AccessRequestPublic.model_validate(queries.one(caller, request_id))
