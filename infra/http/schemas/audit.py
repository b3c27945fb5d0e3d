"""Bodies of the audit routes: an aggregate's events and its state at a version."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel


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
