"""The `revenue` read model: one document per publisher ledger, holding each charge and
refund with its time, so analytics can bucket them by day in any time zone.

The figures are the ledger's own (domain/ledger.py `_earn`): a charge adds its gross, its
fee and the publisher's share; a refund takes back the amount, the fee reversed and the
rest of the share, in the charge's model and currency."""

from __future__ import annotations

from typing import Any

from projections.base import DocumentProjection, Envelope
from projections.ports import Document

revenue = DocumentProjection(name="revenue", aggregate="publisherledger")


@revenue.on("PublisherLedger.Opened")
def _opened(doc: Document, data: dict[str, Any], envelope: Envelope) -> Document:
    return {"publisher_id": data["publisher_id"], "charges": {}, "entries": []}


@revenue.on("PublisherLedger.ChargeRecorded")
def _charged(doc: Document, data: dict[str, Any], envelope: Envelope) -> Document:
    gross, fee = int(data["gross"]), int(data["fee"])
    model = {"model_id": data["model_id"], "currency": data["currency"]}
    entry = {**model, "at": data["at"], "gross": gross, "refunded": 0, "fee": fee,
             "share": gross - fee}  # fmt: skip
    charges = {**doc["charges"], data["transaction_id"]: model}
    return {**doc, "charges": charges, "entries": [*doc["entries"], entry]}


@revenue.on("PublisherLedger.RefundRecorded")
def _refunded(doc: Document, data: dict[str, Any], envelope: Envelope) -> Document:
    amount, fee = int(data["amount"]), int(data["fee"])
    model = doc["charges"][data["charge_transaction_id"]]
    entry = {**model, "at": data["at"], "gross": 0, "refunded": amount, "fee": -fee,
             "share": -(amount - fee)}  # fmt: skip
    return {**doc, "entries": [*doc["entries"], entry]}
