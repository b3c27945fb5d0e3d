"""Response bodies of the query routes."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel


class UserPublic(BaseModel):
    id: UUID
    email: str
    role: str
    verified: bool
    created_at: datetime
    updated_at: datetime


class ApiKeyPublic(BaseModel):
    id: UUID
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked: bool


class ApiKeysPage(BaseModel):
    items: list[ApiKeyPublic]


class EventsPage(BaseModel):
    items: list[dict[str, Any]]
    next_after_version: int | None


class AggregateState(BaseModel):
    aggregate_id: UUID
    type: str
    version: int
    created_at: datetime
    updated_at: datetime
    state: dict[str, Any]
