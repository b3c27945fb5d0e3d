"""confluent-kafka producer for the relay: idempotent, acks=all, all-or-raise batches."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from confluent_kafka import KafkaError, Message, Producer

from workers.relay import OutgoingMessage

Delivery = Callable[[KafkaError | None, Message], None]


class PublishFailed(RuntimeError):
    """Some message of the batch was not acknowledged; nothing may be recorded."""


class KafkaPublisher:
    def __init__(self, bootstrap: str, timeout_s: float = 30.0) -> None:
        self._timeout_s = timeout_s
        self._producer = Producer(
            {
                "bootstrap.servers": bootstrap,
                "client.id": "aimarket-relay",
                "enable.idempotence": True,  # implies acks=all and ordered retries
                "acks": "all",
                "linger.ms": 5,
                "message.timeout.ms": int(timeout_s * 1000),
            }
        )

    def publish(self, messages: list[OutgoingMessage]) -> dict[tuple[str, int], int]:
        sent: dict[tuple[str, int], int] = {}
        errors: list[str] = []

        def delivered(message: OutgoingMessage, err: KafkaError | None, msg: Message) -> None:
            if err is not None:
                errors.append(f"{message.topic}: {err}")
                return
            where = (message.topic, int(msg.partition() or 0))
            sent[where] = max(sent.get(where, 0), message.position)

        for message in messages:
            self._produce(message, partial(delivered, message))
        left = self._producer.flush(self._timeout_s)
        if left or errors:
            detail = "; ".join(errors[:3]) or f"{left} messages still in flight"
            raise PublishFailed(f"Kafka did not acknowledge the batch: {detail}")
        return sent

    def _produce(self, message: OutgoingMessage, callback: Delivery) -> None:
        while True:
            try:
                self._producer.produce(
                    message.topic,
                    key=message.key.encode(),
                    value=message.value,
                    headers=list(message.headers.items()),
                    on_delivery=callback,
                )
                return
            except BufferError:  # local queue full: let deliveries drain, then retry
                self._producer.poll(0.1)

    def close(self) -> None:
        self._producer.flush(self._timeout_s)
