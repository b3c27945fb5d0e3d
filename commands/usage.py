"""Metering's write side: record a batch of a consumer's calls to a model.

Internal (no HTTP route): the inference path and tests call it. One Usage aggregate
per (consumer, model) holds the per-day counts that "has used this model" rests on.
"""

from __future__ import annotations

from datetime import date
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from commands.conflicts import CommandHandlers, ConcurrentUpdate
from commands.event_store import EventStore, Written
from domain.errors import InvalidInput, NotFound
from domain.model import Model, ModelNotFound
from domain.usage import Usage


class UsageCommands(CommandHandlers):
    def __init__(self, app: EventStore) -> None:
        self.app = app

    def record_usage(
        self, consumer_id: UUID, model_id: UUID, day: str, calls: int, successful: int
    ) -> Written:
        """Add `calls` (of which `successful`) on `day` (YYYY-MM-DD) to the pair's usage."""
        _check_day(day)
        try:
            return self._record(consumer_id, model_id, day, calls, successful)
        except IntegrityError:  # another flush started this pair's usage: add on top of it
            raise ConcurrentUpdate("usage for this pair was started meanwhile") from None

    def _record(
        self, consumer_id: UUID, model_id: UUID, day: str, calls: int, successful: int
    ) -> Written:
        usage = self._load_or_start(consumer_id, model_id)
        usage.record(day, calls, successful)
        return self.app.write(usage)

    def record_batch(
        self,
        consumer_id: UUID,
        model_id: UUID,
        publisher_id: UUID,
        batch_id: str,
        days: dict[str, tuple[int, int]],
    ) -> Written | None:
        """Add one metering batch's per-day (calls, successful) to the pair's usage, once:
        None when the aggregate has applied `batch_id` already (a redone batch)."""
        for day in days:
            _check_day(day)
        try:
            usage = self._load(consumer_id, model_id)
        except NotFound:  # the record names the publisher: no need to load the model
            usage = Usage(consumer_id=consumer_id, model_id=model_id, publisher_id=publisher_id)
        if not usage.record_batch(batch_id, days):
            return None
        try:
            return self.app.write(usage)
        except IntegrityError:  # another roll-up started this pair's usage: run again
            raise ConcurrentUpdate("usage for this pair was started meanwhile") from None

    def has_used(self, consumer_id: UUID, model_id: UUID) -> bool:
        try:
            return self.app.load(Usage, Usage.create_id(consumer_id, model_id)).has_used
        except NotFound:
            return False

    def _load(self, consumer_id: UUID, model_id: UUID) -> Usage:
        return self.app.load(Usage, Usage.create_id(consumer_id, model_id))

    def _load_or_start(self, consumer_id: UUID, model_id: UUID) -> Usage:
        try:
            return self._load(consumer_id, model_id)
        except NotFound:
            pass
        try:
            model = self.app.load(Model, model_id)
        except NotFound:
            raise ModelNotFound(f"no model {model_id}") from None
        return Usage(consumer_id=consumer_id, model_id=model_id, publisher_id=model.publisher_id)


def _check_day(day: str) -> None:
    try:
        date.fromisoformat(day)
    except (TypeError, ValueError):
        raise InvalidInput("day must be a date as YYYY-MM-DD") from None
    if len(day) != len("YYYY-MM-DD"):  # fromisoformat also takes 20261126
        raise InvalidInput("day must be a date as YYYY-MM-DD")
