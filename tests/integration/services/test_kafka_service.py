"""Kafka round trips with each client the project uses: confluent-kafka, aiokafka, faust."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic  # what confluent_kafka.admin re-exports, typed

from tests.integration.services.faust_probe import consume_with_faust_agent

TIMEOUT_S = 60.0


def create_topic(bootstrap: str, topic: str) -> None:
    """Explicitly, so the tests do not depend on the broker auto-creating topics."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
    futures[topic].result(timeout=TIMEOUT_S)


@pytest.mark.services("kafka")
def test_message_produced_by_confluent_kafka_is_consumed_with_key_and_headers(
    kafka_bootstrap: str, unique_name: Callable[..., str]
) -> None:
    topic = unique_name("t")
    create_topic(kafka_bootstrap, topic)
    producer = Producer({"bootstrap.servers": kafka_bootstrap, "enable.idempotence": True})
    producer.produce(topic, key=b"agg-1", value=b'{"v": 1}', headers=[("traceparent", b"00-1")])
    assert producer.flush(TIMEOUT_S) == 0

    consumer = Consumer(
        {
            "bootstrap.servers": kafka_bootstrap,
            "group.id": unique_name("g"),
            "auto.offset.reset": "earliest",
        }
    )
    try:
        consumer.subscribe([topic])
        deadline = time.monotonic() + TIMEOUT_S
        message = None
        while message is None and time.monotonic() < deadline:
            message = consumer.poll(1.0)
        assert message is not None, f"nothing consumed from {topic} in {TIMEOUT_S:.0f}s"
        assert message.error() is None
        assert (message.key(), message.value()) == (b"agg-1", b'{"v": 1}')
        assert message.headers() == [("traceparent", b"00-1")]
    finally:
        consumer.close()


async def aiokafka_round_trip(bootstrap: str, topic: str, group: str) -> tuple[bytes, bytes]:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        await producer.send_and_wait(topic, key=b"agg-2", value=b'{"v": 2}')
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=group, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        message = await asyncio.wait_for(consumer.getone(), TIMEOUT_S)
    finally:
        await consumer.stop()
    assert message.key is not None and message.value is not None
    return message.key, message.value


@pytest.mark.services("kafka")
def test_message_produced_by_aiokafka_is_consumed_by_aiokafka(
    kafka_bootstrap: str, unique_name: Callable[..., str]
) -> None:
    topic = unique_name("t")
    create_topic(kafka_bootstrap, topic)
    received = asyncio.run(aiokafka_round_trip(kafka_bootstrap, topic, unique_name("g")))
    assert received == (b"agg-2", b'{"v": 2}')


@pytest.mark.services("kafka")
def test_faust_agent_consumes_every_message_produced_to_its_topic(
    kafka_bootstrap: str, unique_name: Callable[..., str], tmp_path: Path
) -> None:
    topic = unique_name("t")
    create_topic(kafka_bootstrap, topic)
    sent = [f"event-{i}".encode() for i in range(3)]
    producer = Producer({"bootstrap.servers": kafka_bootstrap})
    for value in sent:
        producer.produce(topic, key=b"agg-3", value=value)
    assert producer.flush(TIMEOUT_S) == 0

    received = asyncio.run(
        consume_with_faust_agent(
            kafka_bootstrap, unique_name("app"), topic, len(sent), TIMEOUT_S, tmp_path
        )
    )
    assert received == sent
