"""A consumer's invoices: one per billing period and currency, a line per model."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel, Field

from infra.http.deps import BillingReader, Use, billing_read
from infra.http.params import Limit, NextCursor, PageCursor, fresh_for
from queries.invoices import InvoiceQueries

router = APIRouter(prefix="/v1", tags=["billing"])
Invoices = Annotated[InvoiceQueries, Use(InvoiceQueries)]
Fresh = fresh_for(billing_read)


class InvoiceLinePublic(BaseModel):
    model_id: UUID
    description: str
    units: int
    amount: int = Field(description="minor units of the invoice's currency")


class InvoicePublic(BaseModel):
    id: UUID
    period: str = Field(description="the billing month, YYYY-MM (UTC)")
    currency: str
    lines: list[InvoiceLinePublic]
    total: int = Field(description="minor units")
    status: str = Field(description="draft, open (sent for payment) or paid")
    drafted_at: str
    paid_at: str | None


class InvoicesPage(BaseModel):
    items: list[InvoicePublic]
    next_cursor: NextCursor


def _public(doc: dict[str, Any]) -> InvoicePublic:
    return InvoicePublic.model_validate({**doc, "id": doc["_id"]})


@router.get("/billing/invoices", response_model=InvoicesPage, dependencies=[Fresh])
def list_invoices(
    caller: BillingReader, invoices: Invoices, cursor: PageCursor, limit: Limit = 50
) -> InvoicesPage:
    """The caller's invoices, newest billing period first."""
    page = invoices.page(caller, limit, cursor)
    items = [_public(doc) for doc in page.items]
    return InvoicesPage.model_validate({"items": items, "next_cursor": page.next_cursor})


@router.get("/billing/invoices/{invoice_id}", response_model=InvoicePublic, dependencies=[Fresh])
def get_invoice(invoice_id: UUID, caller: BillingReader, invoices: Invoices) -> InvoicePublic:
    """One invoice of the caller's (another's is 404)."""
    return _public(invoices.get(caller, invoice_id))
