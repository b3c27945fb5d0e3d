"""A consumer's subscriptions: list them, cancel one, change its plan. Someone else's
subscription is missing (404), as one that does not exist."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel, Field

from commands.subscriptions import SubscriptionCommands
from infra.http.deps import CurrentUser, Use, current_user
from infra.http.params import Limit, NextCursor, PageCursor, fresh_for
from infra.http.schemas.common import Strict, Written
from queries.subscriptions import SubscriptionQueries

router = APIRouter(prefix="/v1", tags=["subscriptions"])
Subscriptions = Annotated[SubscriptionCommands, Use(SubscriptionCommands)]
SubscriptionReads = Annotated[SubscriptionQueries, Use(SubscriptionQueries)]
Fresh = fresh_for(current_user)


class SubscriptionPlan(BaseModel):
    name: str
    monthly_price: int = Field(description="minor units")
    currency: str
    included_requests: int


class SubscriptionPublic(BaseModel):
    id: UUID
    model_id: UUID
    plan: SubscriptionPlan
    status: str  # incomplete, active, past_due, canceled
    period_start: datetime | None
    period_end: datetime | None = Field(description="access lasts until then, paid")
    cancel_at_period_end: bool


class SubscriptionsPage(BaseModel):
    items: list[SubscriptionPublic]
    next_cursor: NextCursor


class SubscriptionCancel(Strict):
    at_period_end: bool = Field(
        default=True, description="false: end now (access still lasts to the paid period end)"
    )


class PlanChange(Strict):
    plan: str = Field(min_length=1, max_length=40, description="a plan of the model's prices")


def _public(doc: dict[str, Any]) -> SubscriptionPublic:
    return SubscriptionPublic(id=doc["_id"], **{k: doc[k] for k in _FIELDS})


_FIELDS = ("model_id", "plan", "status", "period_start", "period_end", "cancel_at_period_end")


@router.get("/subscriptions", response_model=SubscriptionsPage, dependencies=[Fresh])
def my_subscriptions(
    caller: CurrentUser, queries: SubscriptionReads, cursor: PageCursor, limit: Limit = 50
) -> SubscriptionsPage:
    """Your subscriptions, newest first, with their plan, status and paid period."""
    page = queries.mine(caller, limit, cursor)
    items = [_public(d) for d in page.items]
    return SubscriptionsPage.model_validate({"items": items, "next_cursor": page.next_cursor})


@router.post("/subscriptions/{subscription_id}/cancel", response_model=Written)
def cancel_subscription(
    subscription_id: UUID,
    caller: CurrentUser,
    subscriptions: Subscriptions,
    body: SubscriptionCancel | None = None,
) -> Written:
    """Cancel at the paid period's end (default) or now; either way access lasts until the
    paid period ends."""
    at_period_end = True if body is None else body.at_period_end
    return Written.of(subscriptions.cancel(caller, subscription_id, at_period_end))


@router.post("/subscriptions/{subscription_id}/change-plan", response_model=Written)
def change_plan(
    subscription_id: UUID, body: PlanChange, caller: CurrentUser, subscriptions: Subscriptions
) -> Written:
    """Move to another plan of the model's current prices; the provider prorates."""
    return Written.of(subscriptions.change_plan(caller, subscription_id, body.plan))
