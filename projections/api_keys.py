"""The `api_keys` read model: listing a user's keys. Verification never reads it."""

from __future__ import annotations

from typing import Any

from projections.base import DocumentProjection, Envelope
from projections.ports import Document

api_keys = DocumentProjection(name="api_keys", aggregate="apikey")


@api_keys.on("ApiKey.Created")
def _created(doc: Document, data: dict[str, Any], envelope: Envelope) -> Document:
    return {
        "owner_id": data["owner_id"],
        "name": data["name"],
        "prefix": data["display_prefix"],
        "scopes": data["scopes"],
        "expires_at": data["expires_at"],
        "revoked": False,
        "last_used_at": None,
        "created_at": envelope["occurred_at"],
    }


@api_keys.on("ApiKey.Revoked")
def _revoked(doc: Document, data: dict[str, Any], envelope: Envelope) -> Document:
    return {**doc, "revoked": True}


@api_keys.on("ApiKey.Used")
def _used(doc: Document, data: dict[str, Any], envelope: Envelope) -> Document:
    return {**doc, "last_used_at": data["at"]}
