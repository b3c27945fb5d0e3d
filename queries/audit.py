"""Audit: any aggregate's full history, and its state at any past version.

Reads the event store on purpose: the history is the source of truth.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol
from uuid import UUID

from domain.envelope import envelope, public_fields, to_jsonable
from domain.errors import InvalidInput, NotFound


class EventHistory(Protocol):
    """The reads audit needs of the event store (the write side's gateway provides them)."""

    def history(self, aggregate_id: UUID, after_version: int, limit: int) -> Sequence[Any]:
        """Stored domain events of one aggregate after `after_version`, oldest first."""
        ...

    def load_any(self, aggregate_id: UUID, version: int | None = None) -> Any: ...


class AuditQueries:
    def __init__(self, app: EventHistory) -> None:
        self._app = app

    def events(
        self, aggregate_id: UUID, after_version: int = 0, limit: int = 100
    ) -> list[dict[str, Any]]:
        found = [envelope(e) for e in self._app.history(aggregate_id, after_version, limit)]
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
