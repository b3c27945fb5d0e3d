"""The `subscriptions` read model: one document per (consumer, model) subscription, for
its owner's list. Whether a subscription gives access is never read from here: the
aggregate answers that by id (`Subscription.gives_access_at`)."""

from __future__ import annotations

from typing import Any

from projections.base import DocumentProjection, Envelope
from projections.ports import Document

subscriptions = DocumentProjection(name="subscriptions", aggregate="subscription")


def _begun(doc: Document, data: dict[str, Any], envelope: Envelope) -> Document:
    return {
        **doc,
        "purchase_id": str(data["purchase_id"]),
        "plan": data["plan"],
        "status": "incomplete",
        "period_start": None,
        "period_end": None,
        "cancel_at_period_end": False,
        "updated_at": envelope["occurred_at"],
    }


@subscriptions.on("Subscription.Started")
def _started(doc: Document, data: dict[str, Any], envelope: Envelope) -> Document:
    owner = {
        "consumer_id": str(data["consumer_id"]),
        "model_id": str(data["model_id"]),
        "publisher_id": str(data["publisher_id"]),
        "created_at": envelope["occurred_at"],
    }
    return _begun(owner, data, envelope)


@subscriptions.on("Subscription.Restarted")
def _restarted(doc: Document, data: dict[str, Any], envelope: Envelope) -> Document:
    return _begun(doc, data, envelope)


def _changed(doc: Document, envelope: Envelope, **fields: Any) -> Document:
    return {**doc, **fields, "updated_at": envelope["occurred_at"]}


@subscriptions.on("Subscription.Activated")
@subscriptions.on("Subscription.Renewed")
def _paid(doc: Document, data: dict[str, Any], envelope: Envelope) -> Document:
    period = {"period_start": data["period_start"], "period_end": data["period_end"]}
    return _changed(doc, envelope, status="active", **period)


@subscriptions.on("Subscription.PastDue")
def _past_due(doc: Document, data: dict[str, Any], envelope: Envelope) -> Document:
    return _changed(doc, envelope, status="past_due")


@subscriptions.on("Subscription.CancelRequested")
def _cancel_requested(doc: Document, data: dict[str, Any], envelope: Envelope) -> Document:
    return _changed(doc, envelope, cancel_at_period_end=True)


@subscriptions.on("Subscription.Canceled")
def _canceled(doc: Document, data: dict[str, Any], envelope: Envelope) -> Document:
    return _changed(doc, envelope, status="canceled")


@subscriptions.on("Subscription.PlanChanged")
def _plan_changed(doc: Document, data: dict[str, Any], envelope: Envelope) -> Document:
    return _changed(doc, envelope, plan=data["plan"])
