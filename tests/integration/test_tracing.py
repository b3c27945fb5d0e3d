"""One trace follows a purchase: the HTTP call, the command, the event-store append, (in the
cluster) the relay's produce and the saga's consume on real Kafka, the saga's step and the
payment provider's charge, each span the child of the one before, read back from an
in-memory exporter."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from uuid import UUID

import pytest
from confluent_kafka import Consumer, Message
from fastapi.testclient import TestClient
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from domain.purchase import Purchase
from infra.bootstrap import Container
from infra.kafka.publisher import KafkaPublisher
from infra.kafka.topics import ensure_topics
from infra.settings import Settings
from tests.inference_support import create_model
from tests.integration.test_purchases import PRICING
from tests.purchase_support import add_card, buy, wait_state
from tests.support import verified_account
from tests.tracing_support import recording
from workers.purchase_app import make_purchase_app
from workers.purchases import Sweep, purchase_topics
from workers.relay import Encoder
from workers.topics import event_topics

HTTP_SPAN = "POST /v1/models/{model_id}/purchases"
WRITE_SIDE = [HTTP_SPAN, "PurchaseCommands.request_purchase", "event_store.append"]
SAGA = ["PurchaseSaga.advance", "payments.charge"]


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    yield from recording()


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # No sweep during the test: only the event's own delivery may advance the purchase.
    return settings.model_copy(update={"purchase_sweep_interval_s": 3600.0})


def chain(finished: Sequence[ReadableSpan], names: list[str]) -> list[ReadableSpan]:
    """The spans named `names`, the first the HTTP server span, each next one a child of
    the one before it; fails with what was recorded when a link is missing."""
    roots = [s for s in finished if s.name == names[0] and s.kind == SpanKind.SERVER]
    assert len(roots) == 1, [s.name for s in finished]
    found = [roots[0]]
    for name in names[1:]:
        parent = found[-1].context
        child = next(
            (
                s
                for s in finished
                if s.name == name and s.parent is not None and s.parent.span_id == parent.span_id
            ),
            None,
        )
        in_trace = sorted(
            (s.name, s.parent.span_id if s.parent else 0)
            for s in finished
            if s.context.trace_id == parent.trace_id
        )
        assert child is not None, f"no {name!r} under {found[-1].name!r}: {in_trace}"
        found.append(child)
    assert len({s.context.trace_id for s in found}) == 1
    return found


@pytest.mark.parametrize("profile", ["embedded"])
def test_one_trace_follows_an_embedded_purchase_from_the_http_call_to_the_provider(
    client: TestClient, outbox: Path, spans: InMemorySpanExporter
) -> None:
    publisher, consumer = (
        verified_account(client, outbox, "publisher"),
        verified_account(client, outbox),
    )
    model_id = create_model(client, publisher, pricing=PRICING)
    assert add_card(client, consumer).status_code == 201
    accepted = buy(client, consumer, model_id)
    assert accepted.status_code == 202, accepted.text
    assert wait_state(client, consumer, accepted.json()["id"])["state"] == "completed"

    found = chain(spans.get_finished_spans(), [*WRITE_SIDE, "process purchases", *SAGA])
    assert found[0].attributes is not None
    assert found[0].attributes["http.response.status_code"] == 202
    assert found[3].kind == SpanKind.CONSUMER and found[-1].kind == SpanKind.CLIENT


@pytest.mark.parametrize("profile", ["cluster"])
def test_one_trace_follows_a_cluster_purchase_through_the_relay_and_kafka_to_the_provider(
    client: TestClient,
    container: Container,
    settings: Settings,
    outbox: Path,
    spans: InMemorySpanExporter,
    tmp_path: Path,
) -> None:
    publisher, consumer = (
        verified_account(client, outbox, "publisher"),
        verified_account(client, outbox),
    )
    model_id = create_model(client, publisher, pricing=PRICING)
    assert add_card(client, consumer).status_code == 201
    start = container.app.recorder.max_notification_id() or 0
    accepted = buy(client, consumer, model_id)
    assert accepted.status_code == 202, accepted.text
    purchase_id = UUID(accepted.json()["id"])

    # The relay's encoding and producing, in this process, onto topics of this test's own
    # (the session's relay process sends the same events to the session's topics).
    assert settings.kafka_bootstrap_servers
    bootstrap, prefix = settings.kafka_bootstrap_servers, f"t{uuid.uuid4().hex[:8]}.events."
    ensure_topics(bootstrap, event_topics(prefix), 1, 3_600_000)
    stored = container.app.recorder.select_notifications(start + 1, 100, topics=purchase_topics())
    assert len(stored) == 1  # Requested: nothing else has advanced the purchase
    kafka = KafkaPublisher(bootstrap)
    kafka.send(Encoder(container.app, prefix).encode(stored))
    kafka.wait()
    message = consume_one(bootstrap, prefix + "purchase")

    # The saga's faust agent, in this process, given the message as Kafka delivered it.
    assert container.billing.purchases is not None
    saga = container.billing.purchases.saga
    sweep = Sweep(saga, container.billing.purchases.purchase_queries, 3600.0)
    app = make_purchase_app(
        bootstrap, saga, sweep, f"trace-{prefix}", prefix, datadir=tmp_path / "faust"
    )
    app.conf.store = "memory://"
    app.finalize()
    app.flow_control.resume()

    async def deliver() -> None:
        async with app.agents["purchase-saga"].test_context() as context:
            await context.put(key=message.key(), value=message.value(), headers=message.headers())

    asyncio.run(deliver())
    assert container.app.load(Purchase, purchase_id).state == "completed"
    produce, consume = f"publish {prefix}purchase", f"process {prefix}purchase"
    found = chain(spans.get_finished_spans(), [*WRITE_SIDE, produce, consume, *SAGA])
    assert (found[3].kind, found[4].kind) == (SpanKind.PRODUCER, SpanKind.CONSUMER)


def consume_one(bootstrap: str, topic: str, timeout_s: float = 60) -> Message:
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"test-{uuid.uuid4().hex}",
            "auto.offset.reset": "earliest",
        }
    )
    consumer.subscribe([topic])
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is not None and message.error() is None:
                return message
        raise AssertionError(f"nothing on {topic} in {timeout_s}s")
    finally:
        consumer.close()
