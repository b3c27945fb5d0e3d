"""The relay on real PostgreSQL and Kafka: every committed event arrives, in order per
aggregate, once after dedup; nothing of a rolled-back save; restart resumes."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from confluent_kafka import Consumer, Message, Producer
from confluent_kafka.admin import AdminClient

from commands.accounts import AccountCommands
from commands.event_store import EventStore
from domain.errors import DomainError
from domain.user import Role, User
from infra.kafka.publisher import KafkaPublisher, partition_for
from infra.kafka.topics import TopicMismatch, ensure_topics
from infra.relay_ledger import PostgresRelayLedger
from infra.settings import Settings
from infra.stores import event_store_env, postgres_pool
from workers.notifications import read_after
from workers.relay import Relay
from workers.topics import event_topics

pytestmark = pytest.mark.services("postgres", "kafka")


@pytest.fixture
def settings(fresh_database_url: str, kafka_bootstrap: str, tmp_path: Any) -> Settings:
    return Settings(
        profile="embedded",
        database_url=fresh_database_url,
        data_dir=tmp_path,
        kafka_bootstrap_servers=kafka_bootstrap,
        event_topic_prefix=f"t{uuid.uuid4().hex[:8]}.events.",
        event_partitions=3,
    )


@pytest.fixture
def app(settings: Settings) -> Iterator[EventStore]:
    cluster = settings.model_copy(update={"profile": "cluster"})
    marketplace = EventStore(env=event_store_env(cluster))
    yield marketplace
    marketplace.close()


def make_relay(settings: Settings, app: EventStore) -> Relay:
    cluster = settings.model_copy(update={"profile": "cluster"})
    assert settings.kafka_bootstrap_servers
    ensure_topics(
        settings.kafka_bootstrap_servers,
        event_topics(settings.event_topic_prefix),
        settings.event_partitions,
        3_600_000,
    )
    ledger = PostgresRelayLedger(event_store_env(cluster), postgres_pool(cluster, []))
    return Relay(
        app,
        KafkaPublisher(settings.kafka_bootstrap_servers),
        ledger,
        idle_wait_s=0.01,
        topic_prefix=settings.event_topic_prefix,
    )


def consume_all(settings: Settings, want: int, timeout_s: float = 60) -> list[dict[str, Any]]:
    """Read every message of the test's topics with a plain consumer of its own group."""
    consumer = Consumer(
        {
            "bootstrap.servers": settings.kafka_bootstrap_servers,
            "group.id": f"test-{uuid.uuid4().hex}",
            "auto.offset.reset": "earliest",
        }
    )
    consumer.subscribe(event_topics(settings.event_topic_prefix))
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None or message.error():
                if len({(e["aggregate_id"], e["version"]) for e in seen}) >= want:
                    break
                continue
            seen.append(json.loads(message.value() or b""))
    finally:
        consumer.close()
    return seen


def consume_messages(settings: Settings, want: int, timeout_s: float = 60) -> list[Message]:
    consumer = Consumer(
        {
            "bootstrap.servers": settings.kafka_bootstrap_servers,
            "group.id": f"test-{uuid.uuid4().hex}",
            "auto.offset.reset": "earliest",
        }
    )
    consumer.subscribe(event_topics(settings.event_topic_prefix))
    seen: list[Message] = []
    deadline = time.monotonic() + timeout_s
    try:
        while len(seen) < want and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is not None and not message.error():
                seen.append(message)
    finally:
        consumer.close()
    return seen


def text(header: str | bytes | None) -> str:
    return header.decode() if isinstance(header, bytes) else str(header)


def committed(app: EventStore) -> list[dict[str, Any]]:
    return [e for _, e in read_after(app, 0, 1_000_000)]


def assert_delivered_exactly(events: list[dict[str, Any]], expected: list[dict[str, Any]]) -> None:
    unique = {(e["aggregate_id"], e["version"]): e for e in events}
    assert set(unique) == {(e["aggregate_id"], e["version"]) for e in expected}
    by_aggregate: dict[str, list[int]] = {}
    for e in events:  # the order in which the consumer saw them, per aggregate
        by_aggregate.setdefault(e["aggregate_id"], []).append(e["version"])
    for versions in by_aggregate.values():
        first_seen = list(dict.fromkeys(versions))
        assert first_seen == sorted(first_seen), "per-aggregate order broken"


def test_relay_publishes_envelopes_keyed_by_aggregate(settings: Settings, app: EventStore) -> None:
    user_id = AccountCommands(app).register_user("r@example.com", "$argon2id$x", Role.CONSUMER).id
    AccountCommands(app).verify_email(user_id)
    relay = make_relay(settings, app)
    assert relay.run_once() == 2 and relay.run_once() == 0
    events = consume_all(settings, want=2)
    assert [e["type"] for e in events] == ["User.Registered", "User.EmailVerified"]
    assert events[0]["data"]["password_hash"] == "[redacted]"
    assert set(events[0]) == {
        "id",
        "type",
        "aggregate_id",
        "version",
        "occurred_at",
        "schema",
        "data",
    }
    assert relay.ledger.position() == app.recorder.max_notification_id()


def test_catch_up_sends_batches_with_headers_and_records_each_partition(
    settings: Settings, app: EventStore
) -> None:
    for i in range(12):
        user_id = AccountCommands(app).register_user(f"h{i}@example.com", "$x", Role.CONSUMER).id
        AccountCommands(app).change_role(user_id, Role.PUBLISHER)
    relay = make_relay(settings, app)
    relay.batch = 5  # batches of 1, 2, 4, 5, ...: several in flight one after another
    assert relay.catch_up() == 24
    assert relay.ledger.position() == app.recorder.max_notification_id()
    messages = consume_messages(settings, want=24)
    assert len(messages) == 24
    last: dict[tuple[str, int], int] = {}
    for message in messages:
        envelope = json.loads(message.value() or b"")
        headers = dict(message.headers() or [])
        assert message.key() == envelope["aggregate_id"].encode()
        assert headers["aimarket-type"] == envelope["type"].encode()
        assert headers["aimarket-schema"] == b"aimarket.event.v1"
        version, trace_id, span_id, flags = text(headers["traceparent"]).split("-")
        # Saved outside a sampled trace: the event's id names the trace, and the flag tells
        # the consumers not to record it (tests/unit/test_trace_context.py: a traced one).
        assert (version, flags) == ("00", "00")
        assert trace_id == envelope["id"].replace("-", "")
        assert len(span_id) == 16 and int(span_id, 16)
        where = (message.topic() or "", message.partition() or 0)
        last[where] = max(last.get(where, 0), int(text(headers["aimarket-position"])))
    assert isinstance(relay.ledger, PostgresRelayLedger)
    assert relay.ledger.partitions() == last


def test_the_relay_picks_the_partition_librdkafka_would(settings: Settings) -> None:
    """The relay computes partitions itself (to know where each position went without a
    delivery report); they must be the ones librdkafka's default partitioner picks."""
    assert settings.kafka_bootstrap_servers
    topic = f"{settings.event_topic_prefix}partitioner"
    ensure_topics(settings.kafka_bootstrap_servers, [topic], 7, 3_600_000)
    producer = Producer({"bootstrap.servers": settings.kafka_bootstrap_servers})
    picked: dict[bytes, int] = {}

    def delivered(err: Any, message: Message) -> None:
        assert err is None
        picked[message.key() or b""] = message.partition() or 0

    keys = [str(uuid.uuid4()).encode() for _ in range(300)]
    for key in keys:
        producer.produce(topic, b"{}", key, on_delivery=delivered)
    assert producer.flush(30) == 0
    assert picked == {key: partition_for(key, 7) for key in keys}


def hammer(app: EventStore, writers: int, per_writer: int) -> int:
    """Concurrent writers; half of them fight over shared accounts, so some saves conflict
    and roll back (burning notification ids). Returns how many saves were refused."""
    shared = [
        AccountCommands(app).register_user(f"shared{i}@example.com", "$x", Role.CONSUMER).id
        for i in range(3)
    ]
    refused = 0
    lock = threading.Lock()

    def write(w: int) -> None:
        nonlocal refused
        for i in range(per_writer):
            try:
                if w % 2:
                    # Straight to the store: a command would run again on the conflict.
                    user = app.load(User, shared[i % 3])
                    user.change_role(Role.PUBLISHER if i % 2 else Role.CONSUMER)
                    app.write(user)
                else:
                    AccountCommands(app).register_user(f"w{w}-{i}@example.com", "$x", Role.CONSUMER)
            except Exception as error:  # a conflicting save: the other writer won
                assert not isinstance(error, DomainError) or error.code == "concurrent_update"
                with lock:
                    refused += 1

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return refused


def test_every_committed_event_arrives_once_under_concurrent_writers(
    settings: Settings, app: EventStore
) -> None:
    relay = make_relay(settings, app)
    running = threading.Thread(target=relay.run_forever)
    running.start()
    try:
        refused = hammer(app, writers=6, per_writer=40)
    finally:
        deadline = time.monotonic() + 30
        while relay.ledger.position() < (app.recorder.max_notification_id() or 0):
            assert time.monotonic() < deadline, "relay did not catch up"
            time.sleep(0.05)
        relay.stopping.set()
        running.join()
    expected = committed(app)
    ids = [p for p, _ in read_after(app, 0, 1_000_000)]
    assert refused > 0, "the test must include conflicting saves"
    assert ids[-1] > len(ids), "rolled-back saves leave gaps in positions"
    assert_delivered_exactly(consume_all(settings, want=len(expected)), expected)


def test_a_restarted_relay_resumes_where_it_left_off(settings: Settings, app: EventStore) -> None:
    for i in range(5):
        AccountCommands(app).register_user(f"a{i}@example.com", "$x", Role.CONSUMER)
    assert make_relay(settings, app).run_once() == 5
    for i in range(3):
        AccountCommands(app).register_user(f"b{i}@example.com", "$x", Role.CONSUMER)
    restarted = make_relay(settings, app)
    assert restarted.run_once() == 3  # only the new ones: the position survived
    events = consume_all(settings, want=8)
    assert len(events) == 8


def test_a_topic_with_other_partitioning_is_refused(settings: Settings) -> None:
    assert settings.kafka_bootstrap_servers
    topics = event_topics(settings.event_topic_prefix)
    ensure_topics(settings.kafka_bootstrap_servers, topics, 3, 3_600_000)
    with pytest.raises(TopicMismatch, match="AIMARKET_EVENT_PARTITIONS"):
        ensure_topics(settings.kafka_bootstrap_servers, topics, 6, 3_600_000)


def test_made_topics_have_a_leader_for_every_partition_when_ensure_returns(
    settings: Settings,
) -> None:
    """A consumer may join its group the moment the topic is made; a partition without a
    leader then would be left out of its assignment until a metadata refresh."""
    assert settings.kafka_bootstrap_servers
    names = [f"{settings.event_topic_prefix}fresh-{n}" for n in range(3)]
    ensure_topics(settings.kafka_bootstrap_servers, names, 8, 3_600_000)
    listed = AdminClient({"bootstrap.servers": settings.kafka_bootstrap_servers}).list_topics(
        timeout=10
    )
    for name in names:
        partitions = listed.topics[name].partitions.values()
        assert len(partitions) == 8 and all(p.leader >= 0 for p in partitions)
