"""Command routes of gated access: consumers ask, publishers approve, reject or revoke."""

from __future__ import annotations

from typing import Annotated, cast
from uuid import UUID

from fastapi import APIRouter, Depends, Request, status

from commands.access import AccessService
from commands.http import access_review_schemas as schemas
from commands.http.deps import ModelReader, ModelWriter
from commands.http.schemas import Written


def get_access(request: Request) -> AccessService:
    return cast(AccessService, request.app.state.access)


Access = Annotated[AccessService, Depends(get_access)]

router = APIRouter(prefix="/v1", tags=["access"])


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
