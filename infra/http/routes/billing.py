"""Billing: the caller's saved cards (a person's JWT to add one; reads also by an API key
with `billing:read`). Card numbers go to the provider and are never stored or shown."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, status
from pydantic import BaseModel, Field

from commands.payment_methods import PaymentMethods
from infra.http.deps import CurrentUser, Use
from infra.http.routes.purchases import BillingReader
from infra.http.schemas.common import Strict

router = APIRouter(prefix="/v1/billing", tags=["billing"])
Methods = Annotated[PaymentMethods, Use(PaymentMethods)]


class PaymentMethodCreate(Strict):
    payment_method: str = Field(
        min_length=1,
        max_length=64,
        description="a provider token such as `pm_card_visa`, or (test mode) a test card number",
    )


class PaymentMethodPublic(BaseModel):
    id: str = Field(description="the provider's payment method id")
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    default: bool


class PaymentMethodAdded(BaseModel):
    id: str
    position: int = Field(description="Event position reached; pass as wait_for to queries")


@router.post(
    "/payment-methods", status_code=status.HTTP_201_CREATED, response_model=PaymentMethodAdded
)
def add_payment_method(
    body: PaymentMethodCreate, caller: CurrentUser, methods: Methods
) -> PaymentMethodAdded:
    """Save a card for purchases and make it the default (402 `card_declined` when the
    provider refuses it)."""
    written = methods.add(caller, body.payment_method)
    default = methods.payer(caller.user_id)[1]
    return PaymentMethodAdded(id=default, position=written.position)


@router.get("/payment-methods", response_model=list[PaymentMethodPublic])
def payment_methods(caller: BillingReader, methods: Methods) -> list[PaymentMethodPublic]:
    """The caller's saved cards: brand, last four digits, expiry; which one is the default."""
    return [PaymentMethodPublic.model_validate(card) for card in methods.list(caller.user_id)]
