"""Bodies of async jobs and webhook endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field

from infra.http.params import NextCursor
from infra.http.schemas.common import Strict


class JobCreate(Strict):
    inputs: dict[str, Any] = Field(description="As for POST /v1/models/{id}/infer")
    webhook: bool = Field(default=False, description="send job.* to the account's endpoints")


class JobAccepted(BaseModel):
    id: UUID
    status: str


class JobError(BaseModel):
    code: str
    message: str


class JobPublic(BaseModel):
    id: UUID
    model_id: UUID
    version: str | None
    status: str = Field(description="queued, running, succeeded, failed or canceled")
    queued_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    expires_at: datetime | None = Field(description="the job and its result go then")
    result: dict[str, Any] | None
    error: JobError | None


class JobsPage(BaseModel):
    items: list[JobPublic]
    next_cursor: NextCursor


class EndpointCreate(Strict):
    url: str = Field(max_length=2000)
    description: str = Field(default="", max_length=500)


class EndpointPublic(BaseModel):
    id: UUID
    url: str
    description: str
    created_at: datetime


class EndpointCreated(EndpointPublic):
    secret: str | None = Field(
        description="the account's signing secret when this endpoint made it: shown once"
    )


class SecretRotated(BaseModel):
    secret: str = Field(description="shown once; the previous one signs too for the grace period")


class AttemptPublic(BaseModel):
    at: datetime
    outcome: str = Field(description="delivered, failed or refused (SSRF check)")
    status_code: int | None
    error: str | None
    duration_ms: float


class DeliveryPublic(BaseModel):
    id: UUID = Field(description="also the `webhook-id` header, the same on every retry")
    endpoint_id: UUID
    event_type: str
    status: str = Field(description="pending, delivered or failed")
    created_at: datetime
    next_attempt_at: datetime | None
    attempts: list[AttemptPublic]


class DeliveriesPage(BaseModel):
    items: list[DeliveryPublic]
    next_cursor: NextCursor
