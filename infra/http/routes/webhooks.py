"""Webhooks of the caller's account, for job completions and account events (a person's
JWT only: endpoints and the signing secret are account settings, not something a
program's key should change)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Response, status

from commands.webhook_ports import PENDING, Delivery, Endpoint
from commands.webhooks import WebhookService
from infra.http.deps import CurrentUser, Use
from infra.http.params import Limit, PageCursor
from infra.http.schemas import jobs as schemas

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])
Webhooks = Annotated[WebhookService, Use(WebhookService)]


def _at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _endpoint(e: Endpoint) -> schemas.EndpointPublic:
    return schemas.EndpointPublic(
        id=e.id, url=e.url, description=e.description, created_at=_at(e.created_at)
    )


def _delivery(d: Delivery) -> schemas.DeliveryPublic:
    attempts = [
        schemas.AttemptPublic.model_validate({**a.as_json(), "at": _at(a.at)}) for a in d.attempts
    ]
    return schemas.DeliveryPublic(
        id=d.id,
        endpoint_id=d.endpoint_id,
        event_type=d.event_type,
        status=d.status,
        created_at=_at(d.created_at),
        next_attempt_at=_at(d.next_attempt_at) if d.status == PENDING else None,
        attempts=attempts,
    )


@router.post(
    "/endpoints", status_code=status.HTTP_201_CREATED, response_model=schemas.EndpointCreated
)
def add_endpoint(
    body: schemas.EndpointCreate, caller: CurrentUser, webhooks: Webhooks
) -> schemas.EndpointCreated:
    """Register a URL for job.* and account events (purchase.completed, payment.failed,
    budget.warning, payout.statement, subscription.canceled; http or https, public
    addresses only); the first one makes the account's signing secret, shown once."""
    endpoint, secret = webhooks.add_endpoint(caller, body.url, body.description)
    return schemas.EndpointCreated(**_endpoint(endpoint).model_dump(), secret=secret)


@router.get("/endpoints", response_model=list[schemas.EndpointPublic])
def endpoints(caller: CurrentUser, webhooks: Webhooks) -> list[schemas.EndpointPublic]:
    """The account's webhook endpoints."""
    return [_endpoint(e) for e in webhooks.endpoints(caller)]


@router.delete("/endpoints/{endpoint_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_endpoint(endpoint_id: UUID, caller: CurrentUser, webhooks: Webhooks) -> Response:
    """Remove an endpoint; its pending deliveries end as failed."""
    webhooks.delete_endpoint(caller, endpoint_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/secret/rotate", response_model=schemas.SecretRotated)
def rotate_secret(caller: CurrentUser, webhooks: Webhooks) -> schemas.SecretRotated:
    """A new signing secret, shown once; the previous one also signs for 24 h."""
    return schemas.SecretRotated(secret=webhooks.rotate_secret(caller))


@router.get("/deliveries", response_model=schemas.DeliveriesPage)
def deliveries(
    caller: CurrentUser,
    webhooks: Webhooks,
    cursor: PageCursor,
    endpoint_id: UUID | None = None,
    limit: Limit = 50,
) -> schemas.DeliveriesPage:
    """The account's deliveries, newest first, each with every attempt."""
    found, next_cursor = webhooks.deliveries(caller, endpoint_id, cursor, limit)
    items = [_delivery(d) for d in found]
    return schemas.DeliveriesPage.model_validate({"items": items, "next_cursor": next_cursor})


@router.post("/deliveries/{delivery_id}/redeliver", status_code=status.HTTP_202_ACCEPTED)
def redeliver(delivery_id: UUID, caller: CurrentUser, webhooks: Webhooks) -> Response:
    """One more attempt now."""
    webhooks.redeliver(caller, delivery_id)
    return Response(status_code=status.HTTP_202_ACCEPTED)
