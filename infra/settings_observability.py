"""The settings of tracing (OpenTelemetry): a part of `Settings` (infra/settings.py); the
variables are the same AIMARKET_* ones."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings


class TracingSettings(BaseSettings):
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
