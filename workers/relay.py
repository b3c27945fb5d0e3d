"""The relay: the event store's notification log, in order, onto Kafka.

Each batch is produced (idempotent producer, acks=all) and only after the broker
has acknowledged every message is the position recorded. A crash between the two
re-sends the batch on restart: duplicates, never gaps. Consumers dedupe by
(aggregate id, version).
"""

from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import dataclass, field
from typing import Any, Protocol

from domain.envelope import ENVELOPE_SCHEMA
from workers.notifications import read_after
from workers.topics import EVENT_TOPIC_PREFIX, event_topic

log = logging.getLogger("aimarket.relay")
POSITION_HEADER = "aimarket-position"


@dataclass(frozen=True)
class OutgoingMessage:
    topic: str
    key: str
    value: bytes
    headers: dict[str, str] = field(default_factory=dict)
    position: int = 0


class Publisher(Protocol):
    def publish(self, messages: list[OutgoingMessage]) -> dict[tuple[str, int], int]:
        """Deliver all or raise; return the last position sent to each (topic, partition)."""
        ...


class RelayLedger(Protocol):
    def position(self) -> int: ...

    def record(self, position: int, partitions: dict[tuple[str, int], int]) -> None: ...


def traceparent(envelope_id: str) -> str:
    """W3C trace context: the trace id follows the event, a new span for this hop."""
    return f"00-{envelope_id.replace('-', '')}-{os.urandom(8).hex()}-01"


def to_message(position: int, envelope: dict[str, Any], prefix: str) -> OutgoingMessage:
    return OutgoingMessage(
        topic=event_topic(envelope, prefix),
        key=str(envelope["aggregate_id"]),
        value=json.dumps(envelope, separators=(",", ":")).encode(),
        headers={
            "aimarket-type": str(envelope["type"]),
            "aimarket-schema": ENVELOPE_SCHEMA,
            POSITION_HEADER: str(position),
            "traceparent": traceparent(str(envelope["id"])),
        },
        position=position,
    )


class Relay:
    def __init__(
        self,
        app: Any,
        publisher: Publisher,
        ledger: RelayLedger,
        batch: int = 5000,
        idle_wait_s: float = 0.05,
        topic_prefix: str = EVENT_TOPIC_PREFIX,
    ) -> None:
        self.app, self.publisher, self.ledger = app, publisher, ledger
        self.batch, self.idle_wait_s, self.topic_prefix = batch, idle_wait_s, topic_prefix
        self.stopping = threading.Event()

    def run_once(self) -> int:
        """Relay the next batch; return how many events it held."""
        batch = read_after(self.app, self.ledger.position(), self.batch)
        if not batch:
            return 0
        partitions = self.publisher.publish([to_message(p, e, self.topic_prefix) for p, e in batch])
        self.ledger.record(batch[-1][0], partitions)
        return len(batch)

    def run_forever(self) -> None:
        while not self.stopping.is_set():
            if not self.run_once():
                self.stopping.wait(self.idle_wait_s)
