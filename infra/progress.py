"""How far the Kafka projection workers have got, for `wait_for` in the cluster profile.

Position N is reflected when the relay has delivered N, and every event-topic
partition has been applied up to N or, when the relay sent nothing newer than an
older position there, up to that last one. Per-partition order makes that enough.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from infra.relay_ledger import PostgresRelayLedger
from projections.catalog import READ_MODELS
from projections.ports import ReadStore
from workers.topics import partition_tracker


@dataclass(frozen=True)
class Frontier:
    """A reading of the relay's and the workers' positions: `delivered` (the relay's), and
    for each partition of a read model's topic, (the last position sent there, the one
    applied)."""

    delivered: int
    partitions: Sequence[tuple[int, int]]

    def reached(self, position: int) -> bool:
        return self.delivered >= position and all(
            applied >= min(position, sent_last) for sent_last, applied in self.partitions
        )


class KafkaProjectionProgress:
    def __init__(self, ledger: PostgresRelayLedger, store: ReadStore, topic_prefix: str) -> None:
        # Only the topics some read model consumes: nothing records progress on the others.
        self._topics = {topic_prefix + model.aggregate for model in READ_MODELS.values()}
        self._ledger, self._store = ledger, store

    def reached(self, position: int) -> bool:
        delivered = self._ledger.position()
        # The read models are not read while the relay has not delivered the position.
        return delivered >= position and Frontier(delivered, self._partitions()).reached(position)

    def frontier(self) -> Frontier:
        """One reading of every position, to ask about many positions at once."""
        return Frontier(self._ledger.position(), self._partitions())

    def _partitions(self) -> list[tuple[int, int]]:
        sent = {
            partition_tracker(topic, partition): sent_last
            for (topic, partition), sent_last in self._ledger.partitions().items()
            if topic in self._topics
        }
        applied = self._store.positions(list(sent))
        return [(sent_last, applied[tracker]) for tracker, sent_last in sent.items()]
