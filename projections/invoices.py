"""The `invoices` read model: a consumer's invoices to list, newest period first.

Whether an invoice is paid is the aggregate's to say; this copy serves the listings."""

from __future__ import annotations

from typing import Any

from projections.base import DocumentProjection, Envelope
from projections.ports import Document

invoices = DocumentProjection(name="invoices", aggregate="invoice")


@invoices.on("Invoice.Drafted")
def _drafted(doc: Document, data: dict[str, Any], envelope: Envelope) -> Document:
    lines = data["lines"]
    return {
        "consumer_id": data["consumer_id"],
        "period": data["period"],
        "currency": data["currency"],
        "lines": lines,
        "total": sum(int(line["amount"]) for line in lines),
        "status": "draft",
        "provider_id": None,
        "drafted_at": data["drafted_at"],
        "paid_at": None,
    }


@invoices.on("Invoice.Pushed")
def _pushed(doc: Document, data: dict[str, Any], envelope: Envelope) -> Document:
    return {**doc, "status": "open", "provider_id": data["provider_id"]}


@invoices.on("Invoice.Paid")
def _paid(doc: Document, data: dict[str, Any], envelope: Envelope) -> Document:
    return {**doc, "status": "paid", "paid_at": data["at"]}
