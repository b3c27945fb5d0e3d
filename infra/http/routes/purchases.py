"""Purchases: buy a model outright or subscribe to one of its plans (the saga charges and
grants in the background), and follow the caller's purchases."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Header, status
from pydantic import BaseModel, Field

from commands.purchases import PurchaseCommands
from domain.principal import Principal
from domain.purchase import Purchase
from infra.http.deps import CurrentUser, Use, require_scope
from infra.http.params import Limit, NextCursor, PageCursor, fresh_for
from infra.http.schemas.common import Strict
from queries.purchases import PurchaseQueries

router = APIRouter(prefix="/v1", tags=["purchases"])
Purchases = Annotated[PurchaseCommands, Use(PurchaseCommands)]
PurchaseReads = Annotated[PurchaseQueries, Use(PurchaseQueries)]
billing_read = require_scope("billing:read")
BillingReader = Annotated[Principal, Depends(billing_read)]
Fresh = fresh_for(billing_read)
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=255,
        description="Required: the same key gives the same purchase (1 to 255 characters)",
    ),
]


class PurchaseCreate(Strict):
    plan: str | None = Field(
        default=None, min_length=1, max_length=40, description="a plan's name; none: buy outright"
    )


class Amount(BaseModel):
    amount: int = Field(description="minor units")
    currency: str


class PurchaseStep(BaseModel):
    event: str
    at: datetime
    payment_id: str | None = None
    amount: Amount | None = None
    code: str | None = None
    message: str | None = None
    refund_id: str | None = None
    reason: str | None = None


class PurchasePublic(BaseModel):
    id: UUID
    model_id: UUID
    kind: str = Field(description="one_off or subscription")
    plan: str | None
    amount: Amount
    state: str = Field(
        description="requested, payment_pending, payment_captured, payment_failed, "
        "access_granted, completed, refund_requested, refunded or canceled"
    )
    failure: dict[str, str] | None = None
    requested_at: datetime
    updated_at: datetime
    history: list[PurchaseStep] = Field(default_factory=list)
    links: dict[str, str]


class PurchaseAccepted(PurchasePublic):
    position: int = Field(description="Event position reached; pass as wait_for to queries")


class PurchasesPage(BaseModel):
    items: list[PurchasePublic]
    next_cursor: NextCursor


def _links(purchase_id: object) -> dict[str, str]:
    return {"self": f"/v1/purchases/{purchase_id}"}


def _accepted(purchase: Purchase, position: int) -> PurchaseAccepted:
    return PurchaseAccepted(
        id=purchase.id,
        model_id=purchase.model_id,
        kind=purchase.kind,
        plan=purchase.plan,
        amount=Amount(**purchase.amount),
        state=purchase.state,
        failure=purchase.failure,
        requested_at=datetime.fromisoformat(purchase.requested_at),
        updated_at=datetime.fromisoformat(purchase.updated_at),
        links=_links(purchase.id),
        position=position,
    )


def _public(doc: dict[str, Any]) -> PurchasePublic:
    return PurchasePublic.model_validate({**doc, "links": _links(doc["id"])})


@router.post(
    "/models/{model_id}/purchases",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=PurchaseAccepted,
)
def purchase(
    model_id: UUID,
    body: PurchaseCreate,
    caller: CurrentUser,
    purchases: Purchases,
    idempotency_key: IdempotencyKey = None,
) -> PurchaseAccepted:
    """Buy a model outright (`{}`) or subscribe to one of its plans (`{"plan": ...}`) with
    the default card; the payment and the grant follow: read the purchase for its state."""
    made, position = purchases.request_purchase(caller, model_id, idempotency_key, body.plan)
    return _accepted(made, position)


@router.get("/purchases", response_model=PurchasesPage, dependencies=[Fresh])
def my_purchases(
    caller: BillingReader, queries: PurchaseReads, cursor: PageCursor, limit: Limit = 50
) -> PurchasesPage:
    """The caller's purchases, newest first."""
    page = queries.mine(caller, limit, cursor)
    items = [_public(d) for d in page.items]
    return PurchasesPage.model_validate({"items": items, "next_cursor": page.next_cursor})


@router.get("/purchases/{purchase_id}", response_model=PurchasePublic, dependencies=[Fresh])
def one_purchase(
    purchase_id: UUID, caller: BillingReader, queries: PurchaseReads
) -> PurchasePublic:
    """One of the caller's purchases: its state and every step, with the time of each."""
    return _public(queries.one(caller, purchase_id))
