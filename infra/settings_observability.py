"""The settings of observability: tracing (OpenTelemetry) and the metrics port of the
processes without an HTTP API (the relay, each worker). A part of `Settings`
(infra/settings.py); the variables are the same AIMARKET_* ones."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings


class ObservabilitySettings(BaseSettings):
    tracing_enabled: bool = Field(
        default=True,
        description="make trace ids and spans (off: the OpenTelemetry API's no-op, which still "
        "passes an incoming traceparent on)",
    )
    # Parent-based: the edge (an HTTP call without a traceparent) decides once, every later
    # hop (command, append, relay, saga, provider) follows, so a kept trace is whole. 1% keeps
    # the cost of the other 99% to making ids; set 1.0 to see every request while developing.
    tracing_sample_ratio: float = Field(
        default=0.01, ge=0.0, le=1.0, description="share of new traces recorded"
    )
    otlp_endpoint: str | None = Field(
        default=None,
        description="OTLP/HTTP traces URL, e.g. http://127.0.0.1:4318/v1/traces; none: no export",
    )
    tracing_service_name: str = Field(default="aimarket", min_length=1)
    # The API serves /metrics itself; the relay and the workers record metrics too (the
    # saga's outcomes, billing's revenue) and serve them only on a port of their own.
    metrics_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="the relay's or a worker's metrics port (one per process); none: not served",
    )
    metrics_host: str = Field(
        default="127.0.0.1", min_length=1, description="the address the metrics port listens on"
    )
