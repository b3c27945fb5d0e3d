"""The Usage aggregate: how much one consumer has used one model, day by day.

Addressed by a uuid5 of (consumer, model): "has this consumer really used this model?"
(the right to review it) is answered by id from the event store, never from a read
model. Metering records calls in batches (one event per flush, not per call), so a
busy model is not a contention point: each consumer has their own aggregate.
"""

from __future__ import annotations

from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import InvalidInput

USAGE_NAMESPACE = uuid5(NAMESPACE_URL, "https://aimarket.dev/ns/usage")
DAYS_KEPT = 60  # enough for "this week against last week", and a month of history


class Usage(Aggregate):
    @staticmethod
    def create_id(consumer_id: UUID, model_id: UUID) -> UUID:
        return uuid5(USAGE_NAMESPACE, f"{consumer_id}/{model_id}")

    @event("Started")
    def __init__(self, consumer_id: UUID, model_id: UUID, publisher_id: UUID) -> None:
        self.consumer_id = consumer_id
        self.model_id = model_id
        self.publisher_id = publisher_id
        self.calls = 0
        self.successful_calls = 0
        self.days: dict[str, int] = {}  # "YYYY-MM-DD" -> calls that day

    @property
    def has_used(self) -> bool:
        return self.successful_calls > 0

    def record(self, day: str, calls: int, successful: int) -> None:
        if calls < 1 or not 0 <= successful <= calls:
            raise InvalidInput("record at least one call, and no more successes than calls")
        self._recorded(day, calls, successful)

    @event("Recorded")
    def _recorded(self, day: str, calls: int, successful: int) -> None:
        self.calls += calls
        self.successful_calls += successful
        self.days[day] = self.days.get(day, 0) + calls
        for old in sorted(self.days)[:-DAYS_KEPT]:
            del self.days[old]
