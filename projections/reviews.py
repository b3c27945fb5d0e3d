"""The `reviews` read model: one document per review (consumer and model).

A contract others read (the catalogue's rating roll-up): every document has
`model_id`, `consumer_id`, `version`, `rating` (1..5) and `hidden`.
"""

from __future__ import annotations

from typing import Any

from projections.base import DocumentProjection, Envelope
from projections.ports import Document

reviews = DocumentProjection(name="reviews", aggregate="review")


@reviews.on("Review.Written")
def _written(doc: Document, data: dict[str, Any], envelope: Envelope) -> Document:
    return {
        "model_id": data["model_id"],
        "consumer_id": data["consumer_id"],
        "publisher_id": data["publisher_id"],
        "reviewer_name": data["reviewer_name"],
        "version": data["version"],
        "rating": int(data["rating"]),
        "title": data["title"],
        "body": data["body"],
        "hidden": False,
        "hidden_reason": None,
        "reply": None,
        "edited": False,
        "created_at": data["at"],
        "updated_at": data["at"],
    }


@reviews.on("Review.Edited")
def _edited(doc: Document, data: dict[str, Any], envelope: Envelope) -> Document:
    return {
        **doc,
        "reviewer_name": data["reviewer_name"],
        "version": data["version"],
        "rating": int(data["rating"]),
        "title": data["title"],
        "body": data["body"],
        "edited": True,
        "updated_at": data["at"],
    }


@reviews.on("Review.Replied")
def _replied(doc: Document, data: dict[str, Any], envelope: Envelope) -> Document:
    return {**doc, "reply": {"body": data["body"], "at": data["at"]}}


@reviews.on("Review.Hidden")
def _hidden(doc: Document, data: dict[str, Any], envelope: Envelope) -> Document:
    return {**doc, "hidden": True, "hidden_reason": data["reason"]}


@reviews.on("Review.Unhidden")
def _unhidden(doc: Document, data: dict[str, Any], envelope: Envelope) -> Document:
    return {**doc, "hidden": False, "hidden_reason": None}
