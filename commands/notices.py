"""Which events a user hears about, and what each says: a `Notice` per event that matters
to one account (its in-app entry, its email, its webhook), built from the envelope and
the aggregates it names. Everything else is None: the notifier just moves on."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from commands.event_store import EventStore
from domain.budget import ACCOUNT, Budget
from domain.errors import NotFound
from domain.ledger import PublisherLedger
from domain.model import Model
from domain.purchase import Purchase
from domain.subscription import Subscription

Envelope = dict[str, Any]

# The kinds that also go out as an email (the in-app list and webhooks get every kind).
EMAILED = frozenset({"purchase.completed", "payment.failed", "budget.warning", "payout.statement"})


@dataclass(frozen=True)
class Notice:
    event_id: str  # the envelope's id: what makes every channel idempotent
    user_id: UUID
    kind: str  # also the webhook's `type`: purchase.completed, payment.failed, ...
    title: str
    at: str  # when the event happened (ISO 8601)
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def emailed(self) -> bool:
        return self.kind in EMAILED


def money(amount: int, currency: str | None) -> str:
    """Minor units as a person reads them: `12.50 USD`."""
    return f"{amount / 100:.2f} {currency}"


def _model_name(app: EventStore, model_id: UUID) -> str:
    # A model that cannot be loaded must not hold the notices behind it (a retry would never
    # end): the notice names it by id.
    try:
        return str(app.load(Model, model_id).name)
    except NotFound:
        return f"model {model_id}"


def _purchase(app: EventStore, envelope: Envelope) -> Notice | None:
    name = str(envelope["type"]).split(".", 1)[1]
    if name not in ("Completed", "PaymentFailed"):
        return None
    p = app.load(Purchase, UUID(str(envelope["aggregate_id"])))
    model = _model_name(app, p.model_id)
    data: dict[str, Any] = {
        "purchase_id": str(p.id), "model_id": str(p.model_id), "model_name": model,
        "kind": p.kind, "plan": p.plan,
        "amount": money(int(p.amount["amount"]), str(p.amount["currency"])),
    }  # fmt: skip
    if name == "Completed":
        return _notice(envelope, p.consumer_id, "purchase.completed", f"Receipt: {model}", data)
    data |= {"reason": (p.failure or {}).get("message", ""), "subscription": False}
    return _notice(envelope, p.consumer_id, "payment.failed", f"Payment failed: {model}", data)


def _subscription(app: EventStore, envelope: Envelope) -> Notice | None:
    name = str(envelope["type"]).split(".", 1)[1]
    if name not in ("PastDue", "Canceled"):
        return None
    s = app.load(Subscription, UUID(str(envelope["aggregate_id"])))
    model = _model_name(app, s.model_id)
    data: dict[str, Any] = {
        "subscription_id": str(s.id), "model_id": str(s.model_id), "model_name": model,
        "plan": s.plan.get("name"),
    }  # fmt: skip
    if name == "PastDue":
        price = money(int(s.plan.get("monthly_price", 0)), s.plan.get("currency"))
        data |= {"reason": "the renewal payment failed", "subscription": True, "amount": price}
        return _notice(envelope, s.consumer_id, "payment.failed", f"Payment failed: {model}", data)
    data["reason"] = str(envelope["data"].get("reason", ""))
    title = f"Subscription canceled: {model}"
    return _notice(envelope, s.consumer_id, "subscription.canceled", title, data)


def _budget(app: EventStore, envelope: Envelope) -> Notice | None:
    if envelope["type"] != "Budget.ThresholdNotified":
        return None
    budget = app.load(Budget, UUID(str(envelope["aggregate_id"])))
    scope, month = str(envelope["data"]["scope"]), str(envelope["data"]["month"])
    percent = int(envelope["data"]["percent"])
    cap = budget.cap_of(scope)
    data = {"scope": "account" if scope == ACCOUNT else f"API key {scope}", "month": month,
            "percent": percent, "cap": money(cap.amount, cap.currency) if cap else None,
            "exhausted": percent >= 100}  # fmt: skip
    title = f"{percent}% of your monthly budget used"
    return _notice(envelope, budget.consumer_id, "budget.warning", title, data)


def _payout(app: EventStore, envelope: Envelope) -> Notice | None:
    if envelope["type"] != "PublisherLedger.PayoutEnded":
        return None
    ledger = app.load(PublisherLedger, UUID(str(envelope["aggregate_id"])))
    payout_id = str(envelope["data"]["payout_id"])
    payout = ledger.payouts[payout_id]
    data = {"payout_id": payout_id, "status": payout["status"], "failure": payout["failure"],
            "amount": money(int(payout["amount"]), str(payout["currency"])),
            "transfer_id": payout["transfer_id"]}  # fmt: skip
    title = f"Payout statement: {data['amount']} {payout['status']}"
    return _notice(envelope, ledger.publisher_id, "payout.statement", title, data)


def _notice(envelope: Envelope, user_id: UUID, kind: str, title: str, data: dict[str, Any]
            ) -> Notice:  # fmt: skip
    at = str(envelope["occurred_at"])
    return Notice(str(envelope["id"]), user_id, kind, title, at, data)


BY_AGGREGATE: dict[str, Callable[[EventStore, Envelope], Notice | None]] = {
    "purchase": _purchase,
    "subscription": _subscription,
    "budget": _budget,
    "publisherledger": _payout,
}
AGGREGATES = tuple(BY_AGGREGATE)


def notice_for(app: EventStore, envelope: Envelope) -> Notice | None:
    """The notice this event makes, or None when it is nobody's news."""
    build = BY_AGGREGATE.get(str(envelope["type"]).split(".", 1)[0].lower())
    return None if build is None else build(app, envelope)
