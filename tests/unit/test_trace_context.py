"""The trace carried with the events: an event saved in a sampled trace stores its
traceparent (and no reader of events sees it), the relay sends it on under a producer
span, an untraced event goes out unsampled, and the API continues a caller's trace."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from commands.accounts import AccountCommands
from commands.event_store import EventStore
from commands.tracing import TRACE_KEY, span, traced_calls
from domain.user import Role, User
from tests.tracing_support import in_memory_tracing, recording
from workers.relay import TRACEPARENT_HEADER, Encoder
from workers.tracing import consumed

CALLER = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331"


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    yield from recording()


@pytest.fixture
def app() -> EventStore:
    return EventStore(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})


def traceparent_of(finished: ReadableSpan) -> str:
    return f"00-{finished.context.trace_id:032x}-{finished.context.span_id:016x}-01"


def named(spans: InMemorySpanExporter, name: str) -> ReadableSpan:
    found = [s for s in spans.get_finished_spans() if s.name == name]
    assert len(found) == 1, [s.name for s in spans.get_finished_spans()]
    return found[0]


def test_an_event_saved_in_a_sampled_trace_carries_it_and_no_reader_sees_it(
    app: EventStore, spans: InMemorySpanExporter
) -> None:
    with span("caller") as caller:
        written = AccountCommands(app).register_user("a@example.com", "$x", Role.CONSUMER)
    (stored,) = app.recorder.select_notifications(1, 10)
    event, parent = app.traced_event(stored)

    append = named(spans, "event_store.append")
    command = named(spans, "AccountCommands.register_user")
    assert parent == traceparent_of(append)
    assert append.parent is not None and append.parent.span_id == command.context.span_id
    assert command.context.trace_id == caller.get_span_context().trace_id
    assert TRACE_KEY.encode() in stored.state
    assert TRACE_KEY not in vars(event)
    assert TRACE_KEY not in vars(app.mapper.to_domain_event(stored))
    assert app.load(User, written.id).email == "a@example.com"


def test_an_event_saved_outside_a_sampled_trace_is_stored_as_before(app: EventStore) -> None:
    switch, _ = in_memory_tracing()
    assert not switch.on  # no test's spans: every new trace is dropped
    AccountCommands(app).register_user("b@example.com", "$x", Role.CONSUMER)
    (stored,) = app.recorder.select_notifications(1, 10)
    assert TRACE_KEY.encode() not in stored.state
    assert app.traced_event(stored)[1] is None


def test_the_relay_sends_the_saved_trace_under_a_producer_span_and_others_unsampled(
    app: EventStore, spans: InMemorySpanExporter
) -> None:
    accounts = AccountCommands(app)
    accounts.register_user("c@example.com", "$x", Role.CONSUMER)
    switch, _ = in_memory_tracing()
    switch.on = False
    accounts.register_user("d@example.com", "$x", Role.CONSUMER)
    switch.on = True

    batch = Encoder(app, "t.events.").encode(app.recorder.select_notifications(1, 10))
    first, second = (dict(message[3])[TRACEPARENT_HEADER] for message in batch.messages)
    producer = named(spans, "publish t.events.user")
    append = named(spans, "event_store.append")
    assert producer.kind == SpanKind.PRODUCER
    assert producer.parent is not None and producer.parent.span_id == append.context.span_id
    assert first == traceparent_of(producer)
    version, trace_id, span_id, flags = str(second).split("-")
    event_id = json.loads(batch.messages[1][2])["id"]
    assert (version, trace_id, flags) == ("00", event_id.replace("-", ""), "00")
    assert len(span_id) == 16 and int(span_id, 16)


@pytest.mark.parametrize("profile", ["embedded"])
def test_the_api_continues_a_callers_sampled_trace_and_follows_an_unsampled_one(
    client: TestClient, spans: InMemorySpanExporter
) -> None:
    assert client.get("/v1/health", headers={"traceparent": f"{CALLER}-01"}).status_code == 200
    server = named(spans, "GET /v1/health")
    assert server.kind == SpanKind.SERVER
    assert f"{server.context.trace_id:032x}" == CALLER.split("-")[1]
    assert server.parent is not None and f"{server.parent.span_id:016x}" == CALLER.split("-")[2]
    assert server.attributes is not None and server.attributes["http.response.status_code"] == 200

    spans.clear()
    assert client.get("/v1/health", headers={"traceparent": f"{CALLER}-00"}).status_code == 200
    assert client.get("/v1/health").status_code == 200  # a new trace: sampled (the switch)
    assert [s.parent for s in spans.get_finished_spans() if s.kind == SpanKind.SERVER] == [None]


def test_a_batch_consumed_continues_its_sampled_trace_and_links_the_others(
    spans: InMemorySpanExporter,
) -> None:
    unsampled = "00-11111111111111111111111111111111-2222222222222222-00"
    with consumed("t.events.user", [None, unsampled, f"{CALLER}-01"]) as batch:
        assert batch.is_recording()
    with consumed("t.events.user", [None]) as nothing:  # saved outside any sampled trace
        assert not nothing.is_recording()
    (process,) = spans.get_finished_spans()
    assert process.kind == SpanKind.CONSUMER and process.name == "process t.events.user"
    assert f"{process.context.trace_id:032x}" == CALLER.split("-")[1]
    assert [f"{link.context.trace_id:032x}" for link in process.links] == ["1" * 32]


def test_an_adapters_calls_sync_and_async_are_client_spans_under_the_caller(
    spans: InMemorySpanExporter,
) -> None:
    @traced_calls("engine", **{"engine.kind": "test"})
    class Engine:
        def load(self) -> str:
            return "loaded"

        async def infer(self, x: int) -> int:
            return x * 2

    with span("caller") as caller:
        assert Engine().load() == "loaded"
        assert asyncio.run(Engine().infer(21)) == 42
    calls = {s.name: s for s in spans.get_finished_spans() if s.kind == SpanKind.CLIENT}
    assert set(calls) == {"engine.load", "engine.infer"}
    for call in calls.values():
        assert call.parent is not None
        assert call.parent.span_id == caller.get_span_context().span_id
        assert call.attributes is not None and call.attributes["engine.kind"] == "test"


def test_under_a_span_the_sampler_dropped_no_span_is_made(spans: InMemorySpanExporter) -> None:
    from opentelemetry import trace
    from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

    dropped = NonRecordingSpan(SpanContext(0xAB, 0xCD, is_remote=False, trace_flags=TraceFlags(0)))
    with trace.use_span(dropped), span("inner") as inner:
        assert inner is dropped
    with span("kept"):
        pass
    assert [s.name for s in spans.get_finished_spans()] == ["kept"]


def test_the_api_key_cache_read_is_no_command() -> None:
    """It runs twice on every call's event loop (rate limit, then authentication): no
    retries, no span."""
    from commands.api_keys import ApiKeyService

    assert not hasattr(ApiKeyService.authenticate_cached, "__wrapped__")
    assert hasattr(ApiKeyService.authenticate, "__wrapped__")
