"""Kafka restarting under the cluster's processes (the chaos test's Kafka restart, alone):
a process started meanwhile waits for the broker instead of exiting at start (the
metering worker did, and left the usage records in the topic), and the relay sends a
batch again until the broker takes it instead of exiting (the relay did)."""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient

from infra.kafka.publisher import KafkaPublisher
from infra.kafka.topics import ensure_topics
from tests.chaos_services import private_kafka
from workers.relay import Batch

pytestmark = pytest.mark.services("kafka")


def test_topics_are_made_once_a_broker_away_at_start_is_back(tmp_path: Path) -> None:
    with private_kafka(tmp_path) as kafka:
        bootstrap = kafka.env()["AIMARKET_KAFKA_BOOTSTRAP_SERVERS"]
        kafka.crash()
        topic, outcome = f"t{uuid.uuid4().hex[:8]}.events", []

        def start_up() -> None:  # as a worker's start does, the broker still down
            try:
                ensure_topics(bootstrap, [topic], 2, 3_600_000, timeout_s=2)
                outcome.append("made")
            except Exception as error:
                outcome.append(repr(error))

        starting = threading.Thread(target=start_up)
        starting.start()
        time.sleep(5)  # several refused attempts
        kafka.start()
        starting.join(timeout=120)
        assert outcome == ["made"]
        found = AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=10).topics
        assert len(found[topic].partitions) == 2


def test_the_relays_batch_is_acknowledged_once_the_broker_is_back(tmp_path: Path) -> None:
    with private_kafka(tmp_path) as kafka:
        bootstrap = kafka.env()["AIMARKET_KAFKA_BOOTSTRAP_SERVERS"]
        topic = f"t{uuid.uuid4().hex[:8]}.events.user"
        ensure_topics(bootstrap, [topic], 1, 3_600_000)
        publisher = KafkaPublisher(bootstrap, timeout_s=2, topics=[topic])
        kafka.crash()
        back = threading.Timer(3, kafka.start)
        back.start()
        publisher.send(Batch([(topic, b"k", b"event 7", [])], [7]))
        assert publisher.wait() == {(topic, 0): 7}  # a failed delivery or two, then taken
        back.join()
