"""An in-memory span exporter on this test process's tracer provider (it can be set only
once per process), recording new traces only while a test asks for `spans`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import Decision, ParentBased, Sampler, SamplingResult

from infra.tracing import make_provider


class Switch(Sampler):
    """New traces are recorded only while `on`: the other tests pay for no spans."""

    on = False

    def should_sample(self, *args: Any, **kwargs: Any) -> SamplingResult:
        return SamplingResult(Decision.RECORD_AND_SAMPLE if self.on else Decision.DROP)

    def get_description(self) -> str:
        return "Switch"


_installed: list[tuple[Switch, InMemorySpanExporter]] = []


def in_memory_tracing() -> tuple[Switch, InMemorySpanExporter]:
    if not _installed:
        switch, exporter = Switch(), InMemorySpanExporter()
        processors = (SimpleSpanProcessor(exporter),)
        provider = make_provider("aimarket-test", ParentBased(switch), processors)
        trace.set_tracer_provider(provider)
        assert trace.get_tracer_provider() is provider, "a tracer provider was set before"
        _installed.append((switch, exporter))
    return _installed[0]


def recording() -> Iterator[InMemorySpanExporter]:
    """The body of a test module's `spans` fixture: new traces recorded while it lasts."""
    switch, exporter = in_memory_tracing()
    exporter.clear()
    switch.on = True
    yield exporter
    switch.on = False
    exporter.clear()
