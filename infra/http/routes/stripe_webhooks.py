"""Stripe's webhooks: no user credentials, the `Stripe-Signature` header is the
authentication, checked before the body is parsed. The body is bounded
(AIMARKET_STRIPE_WEBHOOK_MAX_BYTES, 413 above it: infra/http/app.py)."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from commands.provider_events import ProviderEvents
from infra.http.deps import Use

router = APIRouter(prefix="/v1", tags=["billing"])
Events = Annotated[ProviderEvents, Use(ProviderEvents)]
WEBHOOK_PATH = re.compile(r"/v1/webhooks/stripe")


class WebhookReceived(BaseModel):
    received: bool
    outcome: str  # handled, duplicate, ignored (an unknown type or object), stale


@router.post(
    "/webhooks/stripe",
    response_model=WebhookReceived,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    },
)
async def stripe_webhook(
    request: Request,
    events: Events,
    stripe_signature: Annotated[str | None, Header()] = None,
) -> WebhookReceived:
    """A Stripe event (signed with one of AIMARKET_STRIPE_WEBHOOK_SECRETS): each event id is
    applied once; unknown types are acknowledged and ignored."""
    body = await request.body()
    outcome = await run_in_threadpool(events.receive, body, stripe_signature)
    return WebhookReceived(received=True, outcome=outcome)
