"""Usage and cost, cards, purchases."""

from __future__ import annotations

import uuid
from datetime import date

from aimarket_client.calls import Call, Op, Sleep, get, post
from aimarket_client.errors import ClientSideError
from aimarket_client.ops.models import resolve
from aimarket_client.types import PaymentMethodPublic, PurchasePublic, UsageReportPublic


def usage(first: date | str | None = None, last: date | str | None = None) -> Op[UsageReportPublic]:
    """Calls, billable units and cost per model per UTC day (default: this month)."""
    params = {"from": _day(first), "to": _day(last)}
    return UsageReportPublic.of((yield get("/v1/billing/usage", **params)))


def _day(value: date | str | None) -> str | None:
    return value.isoformat() if isinstance(value, date) else value


def add_card(payment_method: str) -> Op[str]:
    """A provider token (`pm_card_visa`) or, in test mode, a test card number; its id."""
    saved = yield post("/v1/billing/payment-methods", {"payment_method": payment_method})
    return str(saved["id"])


def cards() -> Op[list[PaymentMethodPublic]]:
    return [PaymentMethodPublic.of(item) for item in (yield get("/v1/billing/payment-methods"))]


def purchase(model: str, plan: str | None, idempotency_key: str | None,
             known: dict[str, str]) -> Op[PurchasePublic]:  # fmt: skip
    """Asks to buy `model` (or subscribe to `plan`); the key makes a retry the same
    purchase, so the call is sent again safely after a broken connection."""
    model_id = yield from resolve(model, known)
    body = {"plan": plan} if plan else {}
    headers = {"Idempotency-Key": idempotency_key or uuid.uuid4().hex}
    path = f"/v1/models/{model_id}/purchases"
    made = yield Call("POST", path, json=body, headers=headers, safe_to_repeat=True)
    return PurchasePublic.of(made)


def get_purchase(purchase_id: str) -> Op[PurchasePublic]:
    return PurchasePublic.of((yield get(f"/v1/purchases/{purchase_id}")))


def list_purchases(limit: int = 50) -> Op[list[PurchasePublic]]:
    page = yield get("/v1/purchases", limit=limit)
    return [PurchasePublic.of(item) for item in page["items"]]


def wait_purchase(purchase_id: str, timeout_s: float, poll_s: float) -> Op[PurchasePublic]:
    """The purchase once final: completed, payment_failed or canceled."""
    waited = 0.0
    while True:
        bought = yield from get_purchase(purchase_id)
        if bought.finished:
            return bought
        if waited >= timeout_s:
            raise ClientSideError(f"purchase {purchase_id} still {bought.state}",
                                  code="purchase_not_finished")  # fmt: skip
        yield Sleep(poll_s)
        waited += poll_s
