"""The `purchases` read model: one document per purchase with its state and every step
in `history`, for the consumer's listing and for the saga's sweep (`open` ones).

Whether a purchase entitles anyone is never read from here: the aggregates answer that.
"""

from __future__ import annotations

from typing import Any

from projections.base import DocumentProjection, Envelope
from projections.ports import Document

purchases = DocumentProjection(name="purchases", aggregate="purchase")

FINAL_STATES = {"payment_failed", "completed", "canceled"}
STATE_AFTER = {
    "PaymentPending": "payment_pending",
    "PaymentCaptured": "payment_captured",
    "PaymentFailed": "payment_failed",
    "AccessGranted": "access_granted",
    "Completed": "completed",
    "RefundRequested": "refund_requested",
    "Refunded": "refunded",
    "Canceled": "canceled",
}
SHOWN = ("payment_id", "amount", "code", "message", "refund_id", "reason")


@purchases.on("Purchase.Requested")
def _requested(doc: Document, data: dict[str, Any], envelope: Envelope) -> Document:
    return {
        "consumer_id": data["consumer_id"],
        "model_id": data["model_id"],
        "publisher_id": data["publisher_id"],
        "kind": data["kind"],
        "plan": data["plan"],
        "amount": data["amount"],
        "state": "requested",
        "open": True,
        "requested_at": data["at"],
        "updated_at": data["at"],
        "failure": None,
        "history": [{"event": "Requested", "at": data["at"]}],
    }


def _step(doc: Document, data: dict[str, Any], envelope: Envelope) -> Document:
    name = str(envelope["type"]).split(".", 1)[1]
    state = STATE_AFTER[name]
    step = {"event": name, "at": data["at"], **{k: data[k] for k in SHOWN if k in data}}
    changed = {**doc, "state": state, "open": state not in FINAL_STATES, "updated_at": data["at"]}
    if name == "PaymentFailed":
        changed["failure"] = {"code": data["code"], "message": data["message"]}
    return {**changed, "history": [*doc.get("history", []), step]}


for _name in STATE_AFTER:
    purchases.on(f"Purchase.{_name}")(_step)
