"""Audit: any aggregate's full history, and its state at any past version.

Reads the event store on purpose: the history is the source of truth.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from commands.application import Marketplace
from domain.envelope import envelope, public_fields, to_jsonable
from domain.errors import InvalidInput, NotFound


class AuditQueries:
    def __init__(self, app: Marketplace) -> None:
        self._app = app

    def events(
        self, aggregate_id: UUID, after_version: int = 0, limit: int = 100
    ) -> list[dict[str, Any]]:
        stored = self._app.repository.event_store.get(
            aggregate_id, gt=after_version or None, limit=limit
        )
        found = [envelope(e) for e in stored]
        if not found and after_version == 0:
            raise NotFound(f"no aggregate {aggregate_id}")
        return found

    def state(self, aggregate_id: UUID, version: int | None = None) -> dict[str, Any]:
        if version is not None and version < 1:
            raise InvalidInput("version starts at 1", code="invalid_version")
        aggregate = self._app.load_any(aggregate_id, version)
        if version is not None and aggregate.version != version:
            raise NotFound(f"aggregate {aggregate_id} has no version {version}")
        return {
            "aggregate_id": str(aggregate.id),
            "type": type(aggregate).__qualname__,
            "version": aggregate.version,
            "created_at": to_jsonable(aggregate.created_on),
            "updated_at": to_jsonable(aggregate.modified_on),
            "state": public_fields(vars(aggregate)),
        }
