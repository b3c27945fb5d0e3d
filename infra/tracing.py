"""The tracer provider of this process: set up once, by each entry point (API, relay,
workers), from `ObservabilitySettings`.

Sampling is parent-based over a ratio: a call that arrives with a `traceparent` keeps its
caller's decision, a new trace is kept with `tracing_sample_ratio`; every later hop (the
saved events, the relay, the workers) follows the first decision, so a kept trace is whole.
Spans are exported over OTLP/HTTP only when `otlp_endpoint` is set (the `otlp` extra);
without it, sampled spans are made and dropped, and trace ids still exist for the logs.
"""

from __future__ import annotations

import threading

from opentelemetry import trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ParentBased, Sampler, TraceIdRatioBased

from infra.settings_observability import ObservabilitySettings

_lock = threading.Lock()
_provider: TracerProvider | None = None


def make_provider(
    service: str, sampler: Sampler, processors: tuple[SpanProcessor, ...] = ()
) -> TracerProvider:
    provider = TracerProvider(sampler=sampler, resource=Resource.create({SERVICE_NAME: service}))
    for processor in processors:
        provider.add_span_processor(processor)
    return provider


def configure_tracing(settings: ObservabilitySettings, role: str = "api") -> TracerProvider | None:
    """Install this process's provider (the first call wins; later ones return it).
    None when tracing is off: the API's no-op tracer stays, and passes contexts on."""
    global _provider
    if not settings.tracing_enabled:
        return None
    with _lock:
        if _provider is None:
            sampler = ParentBased(TraceIdRatioBased(settings.tracing_sample_ratio))
            _provider = make_provider(
                f"{settings.tracing_service_name}-{role}", sampler, _exporters(settings)
            )
            trace.set_tracer_provider(_provider)
        return _provider


def _exporters(settings: ObservabilitySettings) -> tuple[SpanProcessor, ...]:
    if settings.otlp_endpoint is None:
        return ()
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    except ImportError as error:
        raise RuntimeError(
            "AIMARKET_OTLP_ENDPOINT is set: install the exporter, pip install 'aimarket[otlp]'"
        ) from error
    return (BatchSpanProcessor(OTLPSpanExporter(endpoint=settings.otlp_endpoint)),)
