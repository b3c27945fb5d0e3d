"""A publisher's earnings and payouts, from their ledger: the caller's own only."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from domain.principal import Principal
from infra.http.deps import Use, require_scope
from queries.earnings import EarningsQueries

router = APIRouter(prefix="/v1/publishers/me", tags=["billing"])
Reads = Annotated[EarningsQueries, Use(EarningsQueries)]
# A person's access token, or an API key holding `billing:read`.
billing_read = require_scope("billing:read")
BillingReader = Annotated[Principal, Depends(billing_read)]


class EarningsRow(BaseModel):
    model_id: UUID
    period: str
    currency: str
    charges: int
    gross: int
    refunded: int
    platform_fee: int
    publisher_share: int


class Balance(BaseModel):
    currency: str
    payable: int
    in_transit: int
    paid_out: int
    receivable: int


class EarningsPublic(BaseModel):
    items: list[EarningsRow]
    balances: list[Balance]


class PayoutPublic(BaseModel):
    id: str
    currency: str
    amount: int
    status: str
    started_at: datetime
    ended_at: datetime | None
    transfer_id: str | None
    failure: str | None


class PayoutsPage(BaseModel):
    items: list[PayoutPublic]


Period = Annotated[
    str | None,
    Query(max_length=7, description="Only this billing period (a month in UTC), as YYYY-MM"),
]


@router.get("/earnings", response_model=EarningsPublic)
def earnings(caller: BillingReader, reads: Reads, period: Period = None) -> EarningsPublic:
    """Your models' earnings per billing period (amounts in minor units), and balances."""
    found = reads.earnings(caller.user_id, period)
    return EarningsPublic.model_validate(found, from_attributes=True)


@router.get("/payouts", response_model=PayoutsPage)
def payouts(caller: BillingReader, reads: Reads) -> PayoutsPage:
    """Your payouts to your connected account, newest first."""
    items = [
        PayoutPublic.model_validate(p, from_attributes=True) for p in reads.payouts(caller.user_id)
    ]
    return PayoutsPage(items=items)
