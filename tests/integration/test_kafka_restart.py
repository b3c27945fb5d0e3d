"""A process started while its Kafka is away (restarting): it waits for the broker and
goes on, instead of exiting at start (the chaos test's metering worker, restarted while
Kafka was, exited and left the usage records in the topic)."""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient

from infra.kafka.topics import ensure_topics
from tests.chaos_services import private_kafka

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
