"""Gated access: consumers ask with answers, publishers approve (with an expiry and a
monthly call cap), reject or revoke; both sides read the requests and their history."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query, status
from pydantic import BaseModel

from commands.access import AccessService
from infra.http.deps import ModelReader, ModelWriter, Use, models_read
from infra.http.params import Limit, NextCursor, PageCursor, fresh_for
from infra.http.schemas import access_reviews as schemas
from infra.http.schemas.common import Written
from projections.cursor import Cursor
from queries.access import AccessQueries

router = APIRouter(prefix="/v1", tags=["access"])
Access = Annotated[AccessService, Use(AccessService)]
AccessReads = Annotated[AccessQueries, Use(AccessQueries)]
Fresh = fresh_for(models_read)  # reads wait for `wait_for` after the caller is known

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


@router.post(
    "/models/{model_id}/access-requests",
    status_code=status.HTTP_201_CREATED,
    response_model=Written,
)
def request_access(
    model_id: UUID, body: schemas.AccessRequestCreate, caller: ModelReader, access: Access
) -> Written:
    """Ask for access to a gated model, answering its access questions in order."""
    return Written.of(access.request_access(caller, model_id, body.answers))


@router.post("/access-requests/{request_id}/approve", response_model=Written)
def approve(
    request_id: UUID, body: schemas.AccessApproval, caller: ModelWriter, access: Access
) -> Written:
    """Approve a pending request (the model's publisher), optionally until a time or
    with a monthly call cap."""
    return Written.of(access.approve(caller, request_id, body.expires_at, body.monthly_call_cap))


@router.post("/access-requests/{request_id}/reject", response_model=Written)
def reject(
    request_id: UUID, body: schemas.AccessDecisionReason, caller: ModelWriter, access: Access
) -> Written:
    """Reject a pending request with a reason; the consumer may ask again after a cool-down."""
    return Written.of(access.reject(caller, request_id, body.reason))


@router.post("/access-requests/{request_id}/revoke", response_model=Written)
def revoke(
    request_id: UUID, body: schemas.AccessDecisionReason, caller: ModelWriter, access: Access
) -> Written:
    """Withdraw an approval with a reason; the same cool-down applies as after a rejection."""
    return Written.of(access.revoke(caller, request_id, body.reason))


def _page(items: list[dict[str, Any]], next_cursor: Cursor | None) -> AccessRequestsPage:
    return AccessRequestsPage.model_validate({"items": items, "next_cursor": next_cursor})


@router.get(
    "/models/{model_id}/access-requests",
    response_model=AccessRequestsPage,
    dependencies=[Fresh],
)
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


@router.get("/access-requests", response_model=AccessRequestsPage, dependencies=[Fresh])
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


@router.get(
    "/access-requests/{request_id}", response_model=AccessRequestPublic, dependencies=[Fresh]
)
def one_request(request_id: UUID, caller: ModelReader, queries: AccessReads) -> AccessRequestPublic:
    """One access request with its history, for its consumer, the publisher and admins."""
    return AccessRequestPublic.model_validate(queries.one(caller, request_id))
