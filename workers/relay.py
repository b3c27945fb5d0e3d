"""The relay: the event store's notification log, in order, onto Kafka.

Each batch is produced (idempotent producer, acks=all) and only after the broker
has acknowledged every message is the position recorded. A crash between the two
re-sends the batch on restart: duplicates, never gaps. Consumers dedupe by
(aggregate id, version).

While the broker acknowledges one batch, the relay reads and encodes the next one:
one batch in flight at a time, each recorded only after its own acks.
"""

from __future__ import annotations

import gc
import logging
import os
import threading
from collections.abc import Generator, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson
from eventsourcing.persistence import Notification

from domain.envelope import ENVELOPE_SCHEMA, Enveloper
from workers.notifications import notifications_after
from workers.topics import EVENT_TOPIC_PREFIX, event_topic
from workers.tracing import produced

log = logging.getLogger("aimarket.relay")
POSITION_HEADER = "aimarket-position"
TYPE_HEADER = "aimarket-type"
SCHEMA_HEADER = "aimarket-schema"
TRACEPARENT_HEADER = "traceparent"
_SCHEMA_VALUE = ENVELOPE_SCHEMA.encode()

# One message as the producer takes it: topic, key, value, headers.
Header = tuple[str, str | bytes | None]
Message = tuple[str, bytes, bytes, list[Header]]
# The last position sent to each (topic, partition).
Partitions = dict[tuple[str, int], int]


@dataclass
class Batch:
    """Messages in position order, each with its notification id."""

    messages: list[Message] = field(default_factory=list)
    positions: list[int] = field(default_factory=list)

    @property
    def last(self) -> int:
        return self.positions[-1]

    def __len__(self) -> int:
        return len(self.positions)


class Publisher(Protocol):
    def send(self, batch: Batch) -> None:
        """Hand every message to the producer; do not wait for the broker."""
        ...

    def wait(self) -> Partitions:
        """Block until the broker acknowledged everything sent, or raise; return the last
        position sent to each (topic, partition) since the previous wait."""
        ...


class RelayLedger(Protocol):
    def position(self) -> int: ...

    def record(self, position: int, partitions: Partitions) -> None: ...


class Encoder:
    """Stored notifications -> Kafka messages: each decoded with the application's mapper
    into a domain event, published as our envelope (never the library's stored state)."""

    def __init__(self, app: Any, topic_prefix: str = EVENT_TOPIC_PREFIX) -> None:
        self._decode = getattr(app.mapper, "to_traced_event", None) or _untraced(app.mapper)
        self._envelope = Enveloper().envelope_for_json  # its field rules learnt once
        self._prefix = topic_prefix
        self._by_type: dict[str, tuple[str, bytes]] = {}  # event type -> topic, header value

    def _for_type(self, event: dict[str, Any]) -> tuple[str, bytes]:
        topic, type_value = event_topic(event, self._prefix), event["type"].encode()
        self._by_type[event["type"]] = topic, type_value
        return topic, type_value

    def encode(self, notifications: Sequence[Notification]) -> Batch:
        batch = Batch()
        messages, positions = batch.messages, batch.positions
        decode, by_type, dumps = self._decode, self._by_type, orjson.dumps
        envelope_for_json = self._envelope
        # Span ids for the whole batch from one system call.
        spans = os.urandom(8 * len(notifications)).hex()
        for i, notification in enumerate(notifications):
            domain_event, parent = decode(notification)
            event = envelope_for_json(domain_event)
            topic, type_value = by_type.get(event["type"]) or self._for_type(event)
            position = notification.id
            # W3C traceparent: the trace the event was saved in, a new span for this hop.
            trace = produced(parent, topic, event["id"], spans[16 * i : 16 * i + 16])
            headers: list[Header] = [
                (TYPE_HEADER, type_value),
                (SCHEMA_HEADER, _SCHEMA_VALUE),
                (POSITION_HEADER, str(position)),
                (TRACEPARENT_HEADER, trace),
            ]
            messages.append((topic, event["aggregate_id"].encode(), dumps(event), headers))
            positions.append(position)
        return batch


def _untraced(mapper: Any) -> Any:
    """A plain eventsourcing mapper's events: none carries a trace."""
    to_domain_event = mapper.to_domain_event
    return lambda notification: (to_domain_event(notification), None)


class BatchReader:
    """One request ahead: `request(p, n)` starts reading the n notifications after position
    p in a thread (the wait for PostgreSQL overlaps our encoding and producing), `result()`
    encodes them here, None when nothing new is stored."""

    def __init__(self, app: Any, encoder: Encoder) -> None:
        self._app, self._encoder = app, encoder
        self._reader = ThreadPoolExecutor(1, thread_name_prefix="relay-read")
        self._pending: Future[Sequence[Notification]] | None = None

    def request(self, position: int, limit: int) -> None:
        self._pending = self._reader.submit(notifications_after, self._app, position, limit)

    def result(self) -> Batch | None:
        assert self._pending is not None, "result() without request()"
        notifications, self._pending = self._pending.result(), None
        return self._encoder.encode(notifications) if notifications else None

    def discard(self) -> None:
        if self._pending is not None:
            self._pending.result()  # let the read finish before anyone reads again
            self._pending = None

    def close(self) -> None:
        self._reader.shutdown()


@contextmanager
def _fewer_collections() -> Iterator[None]:
    """Each event allocates a dozen short-lived containers, all freed by reference counting;
    at the default threshold (700 allocations) the cycle collector would scan every batch
    many times over, and the application's long-lived objects with it."""
    threshold = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()


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
        self.encoder = Encoder(app, topic_prefix)
        self.reader = BatchReader(app, self.encoder)
        self.stopping = threading.Event()

    def run_once(self) -> int:
        """Relay the next batch and record it; return how many events it held."""
        notifications = notifications_after(self.app, self.ledger.position(), self.batch)
        if not notifications:
            return 0
        batch = self.encoder.encode(notifications)
        self.publisher.send(batch)
        self.ledger.record(batch.last, self.publisher.wait())
        return len(batch)

    def catch_up(self) -> int:
        """Relay everything stored so far; return how many events."""
        return self._run(until_idle=True)

    def run_forever(self) -> None:
        self._run(until_idle=False)

    def close(self) -> None:
        self.reader.close()

    def _batches(self, position: int) -> Generator[Batch | None, None, None]:
        """Batches after `position` in order, None whenever nothing new is stored. The next
        batch is read and decoded while the caller publishes this one.

        After a start or an idle spell the first batch is small and each next one twice
        the size, up to `self.batch`: the broker gets the first events sooner (nothing is
        published while the first batch decodes), and a backlog still moves in big batches.
        """
        reader, smallest = self.reader, max(1, self.batch // 16)
        limit = smallest
        reader.request(position, limit)
        try:
            while True:
                batch = reader.result()
                if batch is None:
                    yield None
                    self.stopping.wait(self.idle_wait_s)
                    limit = smallest
                else:
                    position, limit = batch.last, min(self.batch, limit * 2)
                    reader.request(position, limit)
                    yield batch
                if self.stopping.is_set():
                    return
                if batch is None:
                    reader.request(position, limit)
        finally:
            reader.discard()

    def _run(self, until_idle: bool) -> int:
        moved, in_flight = 0, None
        batches = self._batches(self.ledger.position())
        # Positions are written by a thread of their own, in order, each after its batch's
        # acks: the relay does not wait for PostgreSQL's commit before sending more.
        recorder = ThreadPoolExecutor(1, thread_name_prefix="relay-record")
        recorded: Future[None] | None = None

        def record(batch: Batch, partitions: Partitions) -> None:
            nonlocal recorded, moved
            if recorded is not None:
                recorded.result()  # one write outstanding at most; raises if it failed
            recorded = recorder.submit(self.ledger.record, batch.last, partitions)
            moved += len(batch)

        try:
            with _fewer_collections(), closing(batches):
                for batch in batches:
                    acked: Partitions = self.publisher.wait() if in_flight is not None else {}
                    if batch is not None:
                        self.publisher.send(batch)
                    if in_flight is not None:  # acknowledged above: only now may it count
                        record(in_flight, acked)
                    in_flight = batch
                    if self.stopping.is_set() or (batch is None and until_idle):
                        break
                if in_flight is not None:
                    record(in_flight, self.publisher.wait())
            if recorded is not None:
                recorded.result()
        finally:
            recorder.shutdown()
        return moved
