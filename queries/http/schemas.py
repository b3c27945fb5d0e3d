"""Response bodies of the query routes."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel

from queries.http.params import NextCursor


class UserPublic(BaseModel):
    id: UUID
    email: str
    display_name: str = ""
    role: str
    verified: bool
    status: str
    api_key_count: int
    created_at: datetime
    updated_at: datetime


class UsersPage(BaseModel):
    items: list[UserPublic]
    next_cursor: NextCursor


class UserHit(BaseModel):
    user: UserPublic
    score: float
    highlights: dict[str, list[str]]


class UserHits(BaseModel):
    items: list[UserHit]


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
    next_cursor: NextCursor


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
