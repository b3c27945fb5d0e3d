"""The Usage aggregate: how much one consumer has used one model, day by day.

Addressed by a uuid5 of (consumer, model): "has this consumer really used this model?"
(the right to review it) is answered by id from the event store, never from a read
model. Metering rolls calls up in batches (one event per batch, not per call), so a busy
model is not a contention point: each consumer has their own aggregate. `BatchRecorded`
names its batch and the aggregate keeps the last ones it applied, so a batch redone after
a crash is counted once.
"""

from __future__ import annotations

from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import InvalidInput

USAGE_NAMESPACE = uuid5(NAMESPACE_URL, "https://aimarket.dev/ns/usage")
DAYS_KEPT = 60  # enough for "this week against last week", and a month of history
BATCHES_KEPT = 50  # a redone batch is always one of the pair's last few: see record_batch


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
        self.batches: list[str] = []  # the last metering batches applied, oldest first

    @property
    def has_used(self) -> bool:
        return self.successful_calls > 0

    def record(self, day: str, calls: int, successful: int) -> None:
        if calls < 1 or not 0 <= successful <= calls:
            raise InvalidInput("record at least one call, and no more successes than calls")
        self._recorded(day, calls, successful)

    @event("Recorded")
    def _recorded(self, day: str, calls: int, successful: int) -> None:
        self._add(day, calls, successful)

    def record_batch(self, batch_id: str, days: dict[str, tuple[int, int]]) -> bool:
        """Add one metering batch's (calls, successful) per day, once: a batch redone
        after a crash names the same id and is ignored. False when already applied."""
        if batch_id in self.batches:
            return False
        if not batch_id or not days:
            raise InvalidInput("a batch needs an id and at least one day")
        for calls, successful in days.values():
            if calls < 1 or not 0 <= successful <= calls:
                raise InvalidInput("record at least one call, and no more successes than calls")
        counts = {day: [int(c), int(s)] for day, (c, s) in sorted(days.items())}
        self._batch_recorded(batch_id, counts)
        return True

    @event("BatchRecorded")
    def _batch_recorded(self, batch_id: str, days: dict[str, list[int]]) -> None:
        for day, (calls, successful) in days.items():
            self._add(day, calls, successful)
        # Kept on the aggregate, so the check and the change commit together.
        self.batches = [*self.batches, batch_id][-BATCHES_KEPT:]

    def _add(self, day: str, calls: int, successful: int) -> None:
        self.calls += calls
        self.successful_calls += successful
        self.days[day] = self.days.get(day, 0) + calls
        for old in sorted(self.days)[:-DAYS_KEPT]:
            del self.days[old]
