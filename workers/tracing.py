"""The trace across Kafka: the relay's produce span, and the consumers' spans as children of
the `traceparent` a message carries (W3C trace context in the message headers).

An event saved in a sampled trace carries it (commands/tracing.py); the relay makes a
producer span under it and sends that span's traceparent; a worker starts its consumer span
under the header's, so one trace follows the event from the HTTP call through the workers.
An event saved outside a sampled trace is sent with the event id as trace id and the
sampled flag off: the consumers follow that decision and record nothing.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from opentelemetry import trace
from opentelemetry.trace import Link, SpanKind

from commands.tracing import TRACEPARENT, context_from, traceparent, tracer

T = TypeVar("T")


def produced(parent: str | None, topic: str, event_id: str, span_id: str) -> str:
    """The traceparent to send with one event: under a producer span when the event was
    saved in a sampled trace, else the event's own id, unsampled (`span_id`: 16 hex)."""
    context = context_from(parent)
    if context is None:
        return f"00-{event_id.replace('-', '')}-{span_id}-00"
    producer = tracer.start_span(
        f"publish {topic}",
        context=context,
        kind=SpanKind.PRODUCER,
        attributes={"messaging.system": "kafka", "messaging.destination.name": topic},
    )
    producer.end()
    return traceparent(producer) or f"00-{event_id.replace('-', '')}-{span_id}-00"


def header(headers: Mapping[str, Any] | Sequence[tuple[str, Any]] | None) -> Any:
    """The traceparent among a message's headers (faust gives a dict, others pairs)."""
    if not headers:
        return None
    if isinstance(headers, Mapping):
        return headers.get(TRACEPARENT)
    return next((value for name, value in headers if name == TRACEPARENT), None)


@contextmanager
def consumed(topic: str, parents: Iterable[Any], **attrs: Any) -> Iterator[trace.Span]:
    """A consumer span for one message or a batch: the child of the first sampled
    traceparent (else of the first), linked to the others (a batch serves several traces)."""
    contexts = [c for c in (context_from(p) for p in parents) if c is not None]
    if not contexts:  # saved outside a sampled trace: the decision was made, not to record
        yield trace.INVALID_SPAN
        return
    contexts.sort(
        key=lambda c: not trace.get_current_span(c).get_span_context().trace_flags.sampled
    )
    links = [Link(trace.get_current_span(c).get_span_context()) for c in contexts[1:]]
    with tracer.start_as_current_span(
        f"process {topic}", context=contexts[0], kind=SpanKind.CONSUMER, links=links
    ) as current:
        if attrs and current.is_recording():
            current.set_attributes(attrs)
        yield current


def in_context(call: Callable[..., T]) -> Callable[..., T]:
    """`call` to run in another thread (an executor) with this one's context, so that the
    current span goes with it (run_in_executor does not copy contextvars)."""
    context = contextvars.copy_context()

    def run(*args: Any) -> T:
        return context.run(call, *args)

    return run
