"""Trace context on the write side, with the OpenTelemetry API only (the SDK, the sampler
and the exporter are the composition root's: infra/tracing.py).

A command runs in a span; each event it saves carries the W3C `traceparent` of the span
current at the save, inside the stored state under `TRACE_KEY`, so that whoever reads the
event later (the relay, the embedded followers) continues the same trace. Only a sampled
context is stored: an unsampled one would be dropped downstream anyway, and the stored
events stay as they were. The key is taken off again when an event is read, so aggregates,
projections and envelopes never see it.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from eventsourcing.persistence import Mapper, StoredEvent
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

TRACE_KEY = "_traceparent"
TRACEPARENT = "traceparent"
tracer = trace.get_tracer("aimarket")  # a proxy: it follows the provider set up later
_propagator = TraceContextTextMapPropagator()
C = TypeVar("C", bound=type)


def traceparent(span: trace.Span | None = None) -> str | None:
    """The W3C traceparent of `span` (the current one by default) if it is sampled."""
    context = (span or trace.get_current_span()).get_span_context()
    if not context.trace_flags.sampled:
        return None
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-01"


def context_from(parent: str | bytes | None) -> Context | None:
    """The context a traceparent names, None when there is none (or it is malformed)."""
    if not parent:
        return None
    value = parent.decode() if isinstance(parent, bytes) else parent
    context = _propagator.extract({TRACEPARENT: value})
    return context if trace.get_current_span(context).get_span_context().is_valid else None


@contextmanager
def span(
    name: str,
    *,
    parent: Context | None = None,
    kind: SpanKind = SpanKind.INTERNAL,
    attrs: dict[str, Any] | None = None,
) -> Iterator[trace.Span]:
    """A span, current while the block runs, as a child of `parent` (default: the current
    span). Attributes are set only on a recording span. Under a span the sampler has already
    dropped, none is made: its children would be dropped too (parent-based sampling)."""
    if parent is None:
        current = trace.get_current_span()
        context = current.get_span_context()
        if context.is_valid and not context.trace_flags.sampled:
            yield current
            return
    with tracer.start_as_current_span(name, context=parent, kind=kind) as current:
        if attrs and current.is_recording():
            current.set_attributes(attrs)
        yield current


def traced_calls(prefix: str, **attrs: Any) -> Callable[[C], C]:
    """A class decorator for adapters of outside services (the payment provider, Triton):
    each public method's call is a CLIENT span `<prefix>.<method>`, sync or async."""

    def decorate(cls: C) -> C:
        for name, member in list(vars(cls).items()):
            if not name.startswith("_") and inspect.isfunction(member):
                setattr(cls, name, _client_span(member, f"{prefix}.{name}", attrs))
        return cls

    return decorate


def _client_span(call: Callable[..., Any], name: str, attrs: dict[str, Any]) -> Any:
    if inspect.iscoroutinefunction(call):

        @functools.wraps(call)
        async def run_async(*args: Any, **kwargs: Any) -> Any:
            with span(name, kind=SpanKind.CLIENT, attrs=attrs):
                return await call(*args, **kwargs)

        return run_async

    @functools.wraps(call)
    def run(*args: Any, **kwargs: Any) -> Any:
        with span(name, kind=SpanKind.CLIENT, attrs=attrs):
            return call(*args, **kwargs)

    return run


class TracedMapper(Mapper[Any]):
    """eventsourcing's mapper, plus the current trace in each stored event's state."""

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        parent = traceparent()
        if parent is None:
            return super().to_stored_event(domain_event)
        state = domain_event.__dict__
        state[TRACE_KEY] = parent  # read by the library's encoding below, then taken off
        try:
            return super().to_stored_event(domain_event)
        finally:
            del state[TRACE_KEY]

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        return self.to_traced_event(stored_event)[0]

    def to_traced_event(self, stored_event: StoredEvent) -> tuple[Any, str | None]:
        """The domain event, and the traceparent it was saved under (None if none)."""
        event = super().to_domain_event(stored_event)
        return event, event.__dict__.pop(TRACE_KEY, None)
