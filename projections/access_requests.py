"""The `access_requests` read model: one document per (consumer, model) request, with
every step (requested, approved, rejected, revoked) in `history` for both sides to list.

Whether access holds is never read from here: the aggregate answers that by id.
"""

from __future__ import annotations

from typing import Any

from projections.base import DocumentProjection, Envelope
from projections.ports import Document

access_requests = DocumentProjection(name="access_requests", aggregate="accessrequest")


def _round(doc: Document, data: dict[str, Any], rounds: int) -> Document:
    step = {"step": "requested", "at": data["at"], "answers": data["answers"]}
    return {
        **doc,
        "consumer_name": data["consumer_name"],
        "status": "pending",
        "questions": data["questions"],
        "answers": data["answers"],
        "rounds": rounds,
        "expires_at": None,
        "monthly_call_cap": None,
        "reason": "",
        "retry_after": None,
        "requested_at": data["at"],
        "decided_at": None,
        "updated_at": data["at"],
        "history": [*doc.get("history", []), step],
    }


def _decided(doc: Document, status: str, at: str, **fields: Any) -> Document:
    step = {"step": status, "at": at, **fields}
    return {
        **doc,
        **fields,
        "status": status,
        "decided_at": at,
        "updated_at": at,
        "history": [*doc.get("history", []), step],
    }


@access_requests.on("AccessRequest.Requested")
def _requested(doc: Document, data: dict[str, Any], envelope: Envelope) -> Document:
    first = {
        "model_id": data["model_id"],
        "consumer_id": data["consumer_id"],
        "publisher_id": data["publisher_id"],
        "model_name": data["model_name"],
    }
    return _round(first, data, 1)


@access_requests.on("AccessRequest.Rerequested")
def _rerequested(doc: Document, data: dict[str, Any], envelope: Envelope) -> Document:
    return _round(doc, data, int(doc.get("rounds", 0)) + 1)


@access_requests.on("AccessRequest.Approved")
def _approved(doc: Document, data: dict[str, Any], envelope: Envelope) -> Document:
    return _decided(
        doc,
        "approved",
        data["at"],
        expires_at=data["expires_at"],
        monthly_call_cap=data["monthly_call_cap"],
    )


@access_requests.on("AccessRequest.Rejected")
def _rejected(doc: Document, data: dict[str, Any], envelope: Envelope) -> Document:
    return _decided(
        doc, "rejected", data["at"], reason=data["reason"], retry_after=data["retry_after"]
    )


@access_requests.on("AccessRequest.Revoked")
def _revoked(doc: Document, data: dict[str, Any], envelope: Envelope) -> Document:
    return _decided(
        doc, "revoked", data["at"], reason=data["reason"], retry_after=data["retry_after"]
    )
