"""Command routes of gated access: consumers ask, publishers approve, reject or revoke."""

from __future__ import annotations

from typing import Annotated, cast
from uuid import UUID

from fastapi import APIRouter, Depends, Request, status

from commands.access import AccessService
from commands.http import access_review_schemas as schemas
from commands.http.deps import require_scope
from commands.http.schemas import Written
from commands.principal import Principal


def get_access(request: Request) -> AccessService:
    return cast(AccessService, request.app.state.access)


Access = Annotated[AccessService, Depends(get_access)]
# A person's access token, or an API key with the scope the side needs.
Reader = Annotated[Principal, Depends(require_scope("models:read"))]
Writer = Annotated[Principal, Depends(require_scope("models:write"))]

router = APIRouter(prefix="/v1", tags=["access"])


def _written(written: object) -> Written:
    return Written.model_validate(written, from_attributes=True)


@router.post(
    "/models/{model_id}/access-requests",
    status_code=status.HTTP_201_CREATED,
    response_model=Written,
)
def request_access(
    model_id: UUID, body: schemas.AccessRequestCreate, caller: Reader, access: Access
) -> Written:
    """Ask for access to a gated model, answering its access questions in order."""
    return _written(access.request_access(caller, model_id, body.answers))


@router.post("/access-requests/{request_id}/approve", response_model=Written)
def approve(
    request_id: UUID, body: schemas.AccessApproval, caller: Writer, access: Access
) -> Written:
    """Approve a pending request (the model's publisher), optionally until a time or
    with a monthly call cap."""
    return _written(access.approve(caller, request_id, body.expires_at, body.monthly_call_cap))


@router.post("/access-requests/{request_id}/reject", response_model=Written)
def reject(
    request_id: UUID, body: schemas.AccessDecisionReason, caller: Writer, access: Access
) -> Written:
    """Reject a pending request with a reason; the consumer may ask again after a cool-down."""
    return _written(access.reject(caller, request_id, body.reason))


@router.post("/access-requests/{request_id}/revoke", response_model=Written)
def revoke(
    request_id: UUID, body: schemas.AccessDecisionReason, caller: Writer, access: Access
) -> Written:
    """Withdraw an approval with a reason; the same cool-down applies as after a rejection."""
    return _written(access.revoke(caller, request_id, body.reason))
