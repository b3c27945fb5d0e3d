"""How far the Kafka projection workers have got, for `wait_for` in the cluster profile.

Position N is reflected when the relay has delivered N, and every event-topic
partition has been applied up to N or, when the relay sent nothing newer than an
older position there, up to that last one. Per-partition order makes that enough.
"""

from __future__ import annotations

from infra.relay_ledger import PostgresRelayLedger
from projections.catalog import READ_MODELS
from projections.ports import ReadStore
from workers.topics import partition_tracker


class KafkaProjectionProgress:
    def __init__(self, ledger: PostgresRelayLedger, store: ReadStore, topic_prefix: str) -> None:
        # Only the topics some read model consumes: nothing records progress on the others.
        self._topics = {topic_prefix + model.aggregate for model in READ_MODELS.values()}
        self._ledger, self._store = ledger, store

    def reached(self, position: int) -> bool:
        if self._ledger.position() < position:
            return False
        for (topic, partition), sent_last in self._ledger.partitions().items():
            if topic not in self._topics:
                continue
            applied = self._store.position(partition_tracker(topic, partition))
            if applied < min(position, sent_last):
                return False
        return True
