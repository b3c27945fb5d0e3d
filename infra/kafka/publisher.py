"""confluent-kafka producer for the relay: idempotent, acks=all, all-or-raise batches.

The relay sends tens of thousands of messages a second, so no per-message Python
callback runs on success: librdkafka reports only failures
(`delivery.report.only.error`), and `flush()` returning 0 with no failure reported
means every message was acknowledged. The partition is computed here, with
librdkafka's own default partitioner (CRC-32 of the key modulo the partition count),
so the relay knows where each position went without a delivery report.

A batch the broker did not acknowledge (it is restarting) is sent again, every second, for
up to `broker_wait_s`, before `wait` gives up: duplicates, which consumers drop by version,
never a gap, and the relay keeps running through a broker restart.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from zlib import crc32

from confluent_kafka import KafkaError, Message, Producer

from workers.relay import Batch, Header

log = logging.getLogger("aimarket.relay")


class PublishFailed(RuntimeError):
    """Some message of the batch was not acknowledged; nothing may be recorded."""


def partition_for(key: bytes, partitions: int) -> int:
    """librdkafka's `consistent_random` partitioner (its default) for a non-empty key."""
    return crc32(key) % partitions


class KafkaPublisher:
    def __init__(
        self,
        bootstrap: str,
        timeout_s: float = 30.0,
        linger_ms: int = 5,
        topics: Sequence[str] = (),
        broker_wait_s: float = 300.0,
    ) -> None:
        self._timeout_s, self._broker_wait_s = timeout_s, broker_wait_s
        self._unacknowledged: list[Batch] = []
        self._failures: list[str] = []
        self._sent: dict[tuple[str, int], int] = {}
        self._partitions: dict[str, int] = {}  # topic -> partition count
        self._producer = Producer(
            {
                "bootstrap.servers": bootstrap,
                "client.id": "aimarket-relay",
                "enable.idempotence": True,  # implies acks=all and ordered retries
                "acks": "all",
                "linger.ms": linger_ms,
                # Room for a few whole relay batches, so produce() rarely meets a full queue.
                "queue.buffering.max.messages": 500_000,
                "message.timeout.ms": int(timeout_s * 1000),
                "delivery.report.only.error": True,
                "on_delivery": self._failed,
            }
        )
        if topics:
            self._await_leaders(topics, timeout_s)

    def _await_leaders(self, topics: Sequence[str], timeout_s: float) -> None:
        """Metadata and connections now rather than in the first batch. Topics created a
        moment ago may have no partition leader yet; a message for such a partition would
        wait for librdkafka's next metadata refresh, so wait for the leaders here."""
        deadline = time.monotonic() + timeout_s
        while True:
            known = self._producer.list_topics(timeout=timeout_s).topics
            ready = {
                topic: len(known[topic].partitions)
                for topic in topics
                if topic in known
                and known[topic].partitions
                and all(p.leader >= 0 for p in known[topic].partitions.values())
            }
            if len(ready) == len(topics) or time.monotonic() > deadline:
                self._partitions.update(ready)
                return
            time.sleep(0.05)

    def _failed(self, err: KafkaError | None, msg: Message) -> None:
        if err is not None:
            self._failures.append(f"{msg.topic()}: {err}")

    def _partition_count(self, topic: str) -> int:
        metadata = self._producer.list_topics(topic, timeout=self._timeout_s).topics.get(topic)
        if metadata is None or metadata.error is not None or not metadata.partitions:
            raise PublishFailed(f"no partitions for topic {topic}: create the topics first")
        count = self._partitions[topic] = len(metadata.partitions)
        return count

    def send(self, batch: Batch) -> None:
        self._unacknowledged.append(batch)
        self._produce(batch)

    def _produce(self, batch: Batch) -> None:
        produce, counts, sent = self._producer.produce, self._partitions, self._sent
        for (topic, key, value, headers), position in zip(
            batch.messages, batch.positions, strict=True
        ):
            partition = partition_for(key, counts.get(topic) or self._partition_count(topic))
            try:
                produce(topic, value, key, partition, headers=headers)
            except BufferError:
                self._produce_when_room(topic, key, value, partition, headers)
            sent[topic, partition] = position  # positions ascend: the last one is the max

    def _produce_when_room(
        self, topic: str, key: bytes, value: bytes, partition: int, headers: list[Header]
    ) -> None:
        while True:
            self._producer.poll(0.1)  # local queue full: let deliveries drain, then retry
            try:
                self._producer.produce(topic, value, key, partition, headers=headers)
                return
            except BufferError:
                continue

    def wait(self) -> dict[tuple[str, int], int]:
        deadline = time.monotonic() + self._broker_wait_s
        while (detail := self._unacknowledged_detail()) is not None:
            if time.monotonic() > deadline:
                self._unacknowledged, self._sent = [], {}
                raise PublishFailed(f"Kafka did not acknowledge the batch: {detail}")
            log.warning("Kafka did not acknowledge a batch (%s); sending it again", detail)
            time.sleep(1)
            for batch in self._unacknowledged:
                self._produce(batch)
        sent, self._sent, self._unacknowledged = self._sent, {}, []
        return sent

    def _unacknowledged_detail(self) -> str | None:
        """None once everything sent is acknowledged; else what went wrong."""
        left = self._producer.flush(self._timeout_s)
        failures, self._failures = self._failures, []
        if left or failures:
            return "; ".join(failures[:3]) or f"{left} messages still in flight"
        return None

    def close(self) -> None:
        self._producer.flush(self._timeout_s)
