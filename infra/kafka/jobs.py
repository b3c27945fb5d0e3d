"""The cluster's job queue: job ids produced to a Kafka topic keyed by job id (idempotent
producer, acks=all), consumed by `aimarket worker inference` (workers/jobs_app.py)."""

from __future__ import annotations

from uuid import UUID

from confluent_kafka import KafkaError, Message, Producer

from domain.errors import Unavailable


class KafkaJobQueue:
    def __init__(self, bootstrap: str, topic: str, timeout_s: float = 10.0) -> None:
        self.topic, self._timeout_s = topic, timeout_s
        self._producer = Producer(
            {
                "bootstrap.servers": bootstrap,
                "client.id": "aimarket-jobs",
                "enable.idempotence": True,
                "acks": "all",
                "linger.ms": 0,  # one job at a time: do not wait for company
                "message.timeout.ms": int(timeout_s * 1000),
            }
        )

    def enqueue(self, job_id: UUID) -> None:
        """Returns once the broker has the job id; 503 `job_queue_unavailable` if it does
        not within the timeout (the submit then cancels the stored job; a retry makes a new one)."""
        failures: list[str] = []

        def delivered(error: KafkaError | None, _: Message) -> None:
            if error is not None:
                failures.append(str(error))

        key = str(job_id).encode()
        self._producer.produce(self.topic, key=key, value=key, on_delivery=delivered)
        left = self._producer.flush(self._timeout_s)
        if left or failures:
            raise Unavailable(
                "the job queue did not take the job; try again",
                code="job_queue_unavailable",
                retry_after_s=5,
            )

    def close(self) -> None:
        self._producer.flush(self._timeout_s)
