"""The settings of resilience, readiness and CORS: retries of outbound calls (the breaker's
threshold and pause are `breaker_*` in infra/settings_serving.py and apply to every
breaker), the readiness probe's timeout, the browser origins allowed. A part of `Settings`
(infra/settings.py); the variables are the same AIMARKET_* ones."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings


class ResilienceSettings(BaseSettings):
    breaker_success_threshold: int = Field(
        default=1, gt=0, description="trial calls that must succeed to close an open breaker"
    )
    retry_attempts: int = Field(
        default=3, ge=1, description="tries of an idempotent outbound call (payments, search)"
    )
    retry_wait_base_s: float = Field(default=0.1, gt=0, description="first retry's mean wait")
    retry_wait_max_s: float = Field(default=2.0, gt=0, description="longest wait between tries")
    ready_timeout_s: float = Field(
        default=2.0, gt=0, description="each dependency's check in /v1/ready"
    )
    cors_allowed_origins: str = Field(
        default="",
        description="comma-separated origins browsers may call from (https://app.example); "
        "empty: no CORS headers at all",
    )
    cors_allow_credentials: bool = Field(
        default=False, description="let browsers send cookies and Authorization cross-origin"
    )
    cors_max_age_s: int = Field(default=600, ge=0, description="how long a preflight is cached")

    def cors_origins(self) -> list[str]:
        return [o.strip().rstrip("/") for o in self.cors_allowed_origins.split(",") if o.strip()]
