"""The settings of the gateway's rate limits (infra/http/ratelimit.py): the bucket store
and the route classes. A part of `Settings` (infra/settings.py); AIMARKET_* variables."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings

from commands.rate_limits import BucketSpec

DEFAULT_EXEMPT_PATHS = "/v1/health,/v1/ready,/metrics,/v1/webhooks/stripe"


class RouteClass(BaseModel):
    """One route class's bucket: `capacity` calls at once, `per_minute` refilled; when the
    bucket store cannot be reached, `fail_open` lets calls through, else 503."""

    capacity: int = Field(gt=0)
    per_minute: float = Field(gt=0)
    fail_open: bool

    def spec(self) -> BucketSpec:
        return BucketSpec(self.capacity, self.per_minute / 60)


class GatewaySettings(BaseSettings):
    redis_url: str | None = Field(default=None, description="rate limits (cluster profile)")
    rate_limits: Literal["memory", "redis", "off"] | None = Field(
        default=None,
        description="the bucket store; default: memory when embedded, redis in the cluster profile",
    )
    rate_limit_prefix: str = Field(default="aimarket:rl:", description="Redis key prefix")
    rate_limit_timeout_s: float = Field(default=0.1, gt=0, description="each Redis check")
    # Each applies per API key and per user (a call with credentials), or per client
    # address (a call without, or with credentials not yet known to be good).
    rate_limit_auth: RouteClass = RouteClass(capacity=60, per_minute=60, fail_open=False)
    rate_limit_reads: RouteClass = RouteClass(capacity=600, per_minute=1200, fail_open=True)
    rate_limit_writes: RouteClass = RouteClass(capacity=120, per_minute=240, fail_open=True)
    rate_limit_inference: RouteClass = RouteClass(capacity=600, per_minute=1200, fail_open=True)
    inference_free_calls_per_minute: int = Field(
        default=60, gt=0, description="per key or user, without paid access to the model"
    )
    rate_limit_exempt_paths: str = Field(
        default=DEFAULT_EXEMPT_PATHS,
        description="comma-separated paths no bucket counts (probes, signed provider calls)",
    )

    def rate_limit_backend(self, profile: str) -> str:
        return self.rate_limits or ("redis" if profile == "cluster" else "memory")
