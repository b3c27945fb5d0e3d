"""faust's Kafka transport for our workers, with a short fetch wait.

faust-streaming builds its consumers with aiokafka's `fetch_max_wait_ms` fixed at 1500.
aiokafka keeps one fetch in flight per broker, for the partitions with nothing buffered: a
fetch sent for idle partitions only (a worker reads many topics, few of them busy) holds
back the busy ones until the broker answers it, up to that wait. Under a steady load that
showed as pauses of 0.8-2.4 s in the projection worker (docs/BENCHMARKS.md). A short wait
costs an idle worker a few more fetch requests a second.
"""

from __future__ import annotations

from typing import Any

import aiokafka
import faust
from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread, Consumer, Transport

FETCH_MAX_WAIT_MS = 100


class _ConsumerThread(AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> aiokafka.AIOKafkaConsumer:
        consumer = super()._create_worker_consumer(transport)
        consumer._fetch_max_wait_ms = FETCH_MAX_WAIT_MS  # given to its fetcher at start
        return consumer


class _Consumer(Consumer):
    def _new_consumer_thread(self) -> AIOKafkaConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)


class ShortFetchTransport(Transport):
    Consumer = _Consumer


def use_short_fetches(app: faust.App) -> None:
    """Give `app` the transport above; before anything has asked for its transport."""
    app.transport = ShortFetchTransport(app.conf.broker_consumer, app)
