"""The `usage` read model: one document per Usage aggregate (one consumer of one model).

The model-stats roll-up pages through a model's documents, and recommendations read
which models a model's consumers also use. `last_day` (the latest day with calls) lets
the daily refresh find the models whose seven-day windows may have moved, with an
"any of these days" filter that both read stores answer.
"""

from __future__ import annotations

from typing import Any

from domain.usage import DAYS_KEPT
from projections.base import DocumentProjection, Envelope
from projections.ports import Document

usage = DocumentProjection(name="usage", aggregate="usage")


@usage.on("Usage.Started")
def _started(doc: Document, data: dict[str, Any], envelope: Envelope) -> Document:
    return {
        "consumer_id": str(data["consumer_id"]),
        "model_id": str(data["model_id"]),
        "publisher_id": str(data["publisher_id"]),
        "calls": 0,
        "successful_calls": 0,
        "days": {},
        "last_day": None,
        "first_used_at": None,
        "last_used_at": None,
    }


@usage.on("Usage.Recorded")
def _recorded(doc: Document, data: dict[str, Any], envelope: Envelope) -> Document:
    counts = {str(data["day"]): (int(data["calls"]), int(data["successful"]))}
    return _add(doc, counts, envelope)


@usage.on("Usage.BatchRecorded")
def _batch_recorded(doc: Document, data: dict[str, Any], envelope: Envelope) -> Document:
    counts = {str(day): (int(c), int(s)) for day, (c, s) in dict(data["days"]).items()}
    return _add(doc, counts, envelope)


def _add(doc: Document, counts: dict[str, tuple[int, int]], envelope: Envelope) -> Document:
    days = dict(doc.get("days") or {})
    for day, (calls, _) in counts.items():
        days[day] = int(days.get(day, 0)) + calls
    # The same bound as the aggregate: the document never grows past two months.
    days = {d: days[d] for d in sorted(days)[-DAYS_KEPT:]}
    at = envelope["occurred_at"]
    return {
        **doc,
        "calls": int(doc.get("calls", 0)) + sum(c for c, _ in counts.values()),
        "successful_calls": int(doc.get("successful_calls", 0))
        + sum(s for _, s in counts.values()),
        "days": days,
        "last_day": max(days),
        "first_used_at": doc.get("first_used_at") or at,
        "last_used_at": at,
    }
