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
from confluent_kafka import Consumer

from commands.application import Marketplace
from domain.errors import DomainError
from domain.user import Role
from infra.bootstrap import event_store_env, postgres_pool
from infra.kafka.publisher import KafkaPublisher
from infra.kafka.topics import TopicMismatch, ensure_topics
from infra.relay_ledger import PostgresRelayLedger
from infra.settings import Settings
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
def app(settings: Settings) -> Iterator[Marketplace]:
    cluster = settings.model_copy(update={"profile": "cluster"})
    marketplace = Marketplace(env=event_store_env(cluster))
    yield marketplace
    marketplace.close()


def make_relay(settings: Settings, app: Marketplace) -> Relay:
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
            seen.append(json.loads(message.value()))
    finally:
        consumer.close()
    return seen


def committed(app: Marketplace) -> list[dict[str, Any]]:
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


def test_relay_publishes_envelopes_keyed_by_aggregate(settings: Settings, app: Marketplace) -> None:
    user_id = app.register_user("r@example.com", "$argon2id$x", Role.CONSUMER).id
    app.verify_email(user_id)
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


def hammer(app: Marketplace, writers: int, per_writer: int) -> int:
    """Concurrent writers; half of them fight over shared accounts, so some saves conflict
    and roll back (burning notification ids). Returns how many saves were refused."""
    shared = [app.register_user(f"shared{i}@example.com", "$x", Role.CONSUMER).id for i in range(3)]
    refused = 0
    lock = threading.Lock()

    def write(w: int) -> None:
        nonlocal refused
        for i in range(per_writer):
            try:
                if w % 2:
                    app.change_role(shared[i % 3], Role.PUBLISHER if i % 2 else Role.CONSUMER)
                else:
                    app.register_user(f"w{w}-{i}@example.com", "$x", Role.CONSUMER)
            except Exception as error:  # a conflicting save: the other writer won
                assert not isinstance(error, DomainError) or "conflict" in str(error).lower()
                with lock:
                    refused += 1

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return refused


def test_every_committed_event_arrives_once_under_concurrent_writers(
    settings: Settings, app: Marketplace
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


def test_a_restarted_relay_resumes_where_it_left_off(settings: Settings, app: Marketplace) -> None:
    for i in range(5):
        app.register_user(f"a{i}@example.com", "$x", Role.CONSUMER)
    assert make_relay(settings, app).run_once() == 5
    for i in range(3):
        app.register_user(f"b{i}@example.com", "$x", Role.CONSUMER)
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
