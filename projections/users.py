"""The `users` read model: one document per account (for admins and `GET /auth/me`)."""

from __future__ import annotations

from typing import Any

from projections.base import DocumentProjection, Envelope
from projections.ports import Document

users = DocumentProjection(name="users", aggregate="user")


@users.on("User.Registered")
def _registered(doc: Document, data: dict[str, Any], envelope: Envelope) -> Document:
    at = envelope["occurred_at"]
    return {
        "email": data["email"],
        "display_name": data.get("display_name") or "",
        "role": data["role"],
        "verified": False,
        "status": "active",
        "api_key_count": 0,
        "created_at": at,
        "updated_at": at,
    }


def _touch(doc: Document, envelope: Envelope, **fields: Any) -> Document:
    return {**doc, **fields, "updated_at": envelope["occurred_at"]}


@users.on("User.EmailVerified")
def _verified(doc: Document, data: dict[str, Any], envelope: Envelope) -> Document:
    return _touch(doc, envelope, verified=True)


@users.on("User.RoleChanged")
def _role_changed(doc: Document, data: dict[str, Any], envelope: Envelope) -> Document:
    return _touch(doc, envelope, role=data["role"])


@users.on("User.Deactivated")
def _deactivated(doc: Document, data: dict[str, Any], envelope: Envelope) -> Document:
    return _touch(doc, envelope, status="deactivated")


@users.on("User.Reactivated")
def _reactivated(doc: Document, data: dict[str, Any], envelope: Envelope) -> Document:
    return _touch(doc, envelope, status="active")


@users.on("User.PasswordChanged")
def _password_changed(doc: Document, data: dict[str, Any], envelope: Envelope) -> Document:
    return _touch(doc, envelope)


@users.on("User.ApiKeyAdded")
def _key_added(doc: Document, data: dict[str, Any], envelope: Envelope) -> Document:
    return _touch(doc, envelope, api_key_count=int(doc.get("api_key_count", 0)) + 1)


@users.on("User.Renamed")
def _renamed(doc: Document, data: dict[str, Any], envelope: Envelope) -> Document:
    return _touch(doc, envelope, display_name=data["display_name"])
