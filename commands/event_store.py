"""The event-store gateway: load aggregates, and write the changed ones together.

The commands live in the services beside it (accounts, API keys, sessions, models,
uploads...); each loads aggregates here, calls their methods and `write`s them, and
returns ids and the event position, never a read model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, Mapper, Recording, StoredEvent

from commands.conflicts import ConcurrentUpdate
from commands.tracing import TracedMapper, span
from domain.admin_roster import AdminRoster
from domain.api_key import ApiKey
from domain.errors import NotFound
from domain.ledger import PublisherLedger
from domain.model import Model
from domain.user import User

A = TypeVar("A", bound=Aggregate)


@dataclass(frozen=True)
class Written:
    """What a command returns: the aggregate it touched and the event position it reached."""

    id: UUID
    position: int


class EventStore(Application[UUID]):
    # The stored data is keyed by this name (eventsourcing reads settings prefixed with it
    # and names the stores after it), so it stays "Marketplace" for existing stores.
    name = "Marketplace"
    snapshotting_intervals = {  # noqa: RUF012 (library API)
        User: 100,
        ApiKey: 100,
        Model: 100,
        AdminRoster: 100,
        PublisherLedger: 100,  # one event per sale: a busy publisher's ledger grows fast
    }

    def __init__(self, env: dict[str, str] | None = None) -> None:
        super().__init__(env)
        # Called with the last position after every save: the embedded runner wakes on it.
        self.on_saved: list[Callable[[int], None]] = []
        # Called with the ids of the aggregates each save changed: in-process caches drop them.
        self.on_changed: list[Callable[[set[UUID]], None]] = []

    def construct_mapper(self) -> Mapper[UUID]:
        # Each stored event carries the trace it was saved in (commands/tracing.py).
        return self.factory.mapper(self.construct_transcoder(), mapper_class=TracedMapper)

    def traced_event(self, stored: StoredEvent) -> tuple[Any, str | None]:
        """A stored event decoded, and the traceparent it was saved under (or None)."""
        return cast(TracedMapper, self.mapper).to_traced_event(stored)

    def _notify(self, recordings: list[Recording[UUID]]) -> None:
        if recordings:
            changed = {r.domain_event.originator_id for r in recordings}
            for forget in self.on_changed:
                forget(changed)
            position = max(r.notification.id for r in recordings)
            for listener in self.on_saved:
                listener(position)

    def write(self, subject: Aggregate, *others: Aggregate) -> Written:
        """Save together; `subject`'s id and the position reached come back. An aggregate
        that was changed meanwhile by someone else raises `ConcurrentUpdate` (the command
        is run again); a new aggregate whose id exists already raises `IntegrityError`,
        which the command turns into its own conflict."""
        loaded = {a.id: a.version - len(a.pending_events) for a in (subject, *others)}
        try:
            with span("event_store.append", attrs={"aimarket.aggregate": type(subject).__name__}):
                recordings = self.save(subject, *others)
        except IntegrityError:
            if any(self._changed_since(id_, version) for id_, version in loaded.items() if version):
                raise ConcurrentUpdate(
                    "this was changed by someone else at the same moment; try again"
                ) from None
            raise
        position = max((r.notification.id for r in recordings), default=0)
        return Written(subject.id, position)

    def _changed_since(self, aggregate_id: UUID, version: int) -> bool:
        latest = self.recorder.select_events(aggregate_id, desc=True, limit=1)
        return bool(latest) and latest[0].originator_version > version

    def load(self, cls: type[A], aggregate_id: UUID, version: int | None = None) -> A:
        try:
            aggregate: Aggregate = self.repository.get(aggregate_id, version=version)
        except AggregateNotFoundError:
            raise NotFound(f"no {cls.__name__} {aggregate_id}") from None
        if not isinstance(aggregate, cls):
            raise NotFound(f"no {cls.__name__} {aggregate_id}")
        return aggregate

    def load_any(self, aggregate_id: UUID, version: int | None = None) -> Any:
        return self.load(Aggregate, aggregate_id, version)

    def history(self, aggregate_id: UUID, after_version: int = 0, limit: int = 100) -> list[Any]:
        """Stored events of one aggregate after `after_version`, oldest first (audit)."""
        return list(
            self.repository.event_store.get(aggregate_id, gt=after_version or None, limit=limit)
        )
