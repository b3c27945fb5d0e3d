"""The cluster's usage sink: where the buffered meter flushes, records go to Kafka as
CloudEvents (`aimarket.usage`, keyed by consumer id: one consumer's records stay in
order on one partition) rather than into PostgreSQL; `aimarket worker metering` writes
them to the ledger and prices them. Reads (monthly counts, reports) are the ledger's."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from confluent_kafka import KafkaError, Message, Producer

from commands.metering_ports import ClaimedBatch, UsageLedger, UsageRecord
from commands.usage_events import encode


class UsageNotProduced(RuntimeError):
    """The broker did not take every record: the meter keeps them and tries again."""


class KafkaUsageSink:
    def __init__(self, bootstrap: str, topic: str, ledger: UsageLedger, timeout_s: float = 10.0):
        self.topic, self.ledger, self._timeout_s = topic, ledger, timeout_s
        self._producer = Producer(
            {
                "bootstrap.servers": bootstrap,
                "client.id": "aimarket-usage",
                "enable.idempotence": True,  # acks=all; a retried send is not duplicated
                "acks": "all",
                "linger.ms": 5,
                "message.timeout.ms": int(timeout_s * 1000),
            }
        )

    def append(self, records: Sequence[UsageRecord]) -> int:
        """Produce them all, or raise (the meter puts them back); returns how many went.
        A redelivery after a partial failure is harmless: the worker dedupes by id."""
        failures: list[str] = []

        def delivered(error: KafkaError | None, _: Message) -> None:
            if error is not None:
                failures.append(str(error))

        for record in records:
            key = str(record.consumer_id).encode()
            while True:
                try:
                    self._producer.produce(self.topic, encode(record), key, on_delivery=delivered)
                    break
                except BufferError:  # the local queue is full: let deliveries drain
                    self._producer.poll(0.1)
        left = self._producer.flush(self._timeout_s)
        if left or failures:
            raise UsageNotProduced(f"{left} in flight; {'; '.join(failures[:3])}")
        return len(records)

    def calls_in_month(self, consumer_id: UUID, model_id: UUID, month: str) -> int:
        return self.ledger.calls_in_month(consumer_id, model_id, month)

    def claim_batch(self, limit: int, at: datetime) -> ClaimedBatch | None:
        return self.ledger.claim_batch(limit, at)

    def unfinished_batches(self, claimed_before: datetime) -> list[ClaimedBatch]:
        return self.ledger.unfinished_batches(claimed_before)

    def finish_batch(self, batch_id: str, at: datetime) -> None:
        self.ledger.finish_batch(batch_id, at)

    def records_for(self, consumer_id: UUID, since: datetime, limit: int) -> list[UsageRecord]:
        return self.ledger.records_for(consumer_id, since, limit)

    def close(self) -> None:
        self._producer.flush(self._timeout_s)
