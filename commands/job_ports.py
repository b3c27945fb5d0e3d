"""What async inference jobs are and the ports they need: a store (SQLite embedded,
PostgreSQL in the cluster), a queue (in process, or a Kafka topic) and the inference
service's two methods. Jobs are not event-sourced: there are many and they expire."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol
from uuid import UUID

from commands.inference_types import InferenceResult
from domain.principal import Principal

QUEUED, RUNNING, CANCELED = "queued", "running", "canceled"
SUCCEEDED, FAILED = "succeeded", "failed"
FINAL = frozenset({SUCCEEDED, FAILED, CANCELED})


def epoch(at: datetime) -> float:
    return at.timestamp()


def moment(seconds: float | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


@dataclass
class Job:
    id: UUID
    owner_id: UUID
    caller: dict[str, Any]  # the principal that submitted it, to run it as them
    model_id: UUID
    version: str | None
    inputs: dict[str, Any]
    webhook: bool
    status: str
    queued_at: float  # epoch seconds, from the clock port
    started_at: float | None = None
    finished_at: float | None = None
    expires_at: float | None = None  # set when it ends: finished_at + the retention
    token: str | None = None  # the current attempt's claim
    attempts: int = 0
    result: dict[str, Any] | None = None
    error: dict[str, str] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def final(self) -> bool:
        return self.status in FINAL


def caller_of(principal: Principal) -> dict[str, Any]:
    """What a job keeps of its submitter: enough to run it as them later, no credential."""
    return {
        "user_id": str(principal.user_id),
        "role": principal.role,
        "verified": principal.verified,
        "via": principal.via,
        "scopes": sorted(principal.scopes),
        "api_key_id": str(principal.api_key_id) if principal.api_key_id else None,
    }


def principal_of(caller: Mapping[str, Any]) -> Principal:
    key = caller.get("api_key_id")
    return Principal(
        user_id=UUID(caller["user_id"]),
        role=str(caller["role"]),
        verified=bool(caller["verified"]),
        via=str(caller["via"]),
        scopes=frozenset(caller["scopes"]),
        api_key_id=UUID(key) if key else None,
    )


@dataclass(frozen=True)
class Outcome:
    """How an attempt ended: a result, or the error code and message it raised."""

    status: str  # SUCCEEDED or FAILED
    result: dict[str, Any] | None = None
    error: dict[str, str] | None = None


class JobStore(Protocol):
    def insert(self, job: Job) -> None: ...

    def get(self, job_id: UUID) -> Job | None: ...

    def page(self, owner_id: UUID, after: tuple[float, str] | None, limit: int) -> list[Job]:
        """The owner's jobs, newest first, after (queued_at, id) of the last one given."""
        ...

    def claim(self, job_id: UUID, token: str, now: float, stale_before: float) -> Job | None:
        """queued → running with `token` (or a `running` one whose claim is older than
        `stale_before`: its worker died); None when the job is final, or held."""
        ...

    def finish(self, job_id: UUID, token: str, outcome: Outcome, now: float, ttl_s: float) -> bool:
        """Write the outcome only if the job is still running under `token`."""
        ...

    def cancel(self, job_id: UUID, now: float, ttl_s: float) -> Job | None:
        """queued/running → canceled: the job canceled by this call, None when it was
        not queued or running (gone, or ended meanwhile)."""
        ...

    def unfinished(self) -> list[UUID]:
        """Jobs queued or running: what a restarted embedded runner takes up again."""
        ...

    def abandoned(self, before: float) -> list[UUID]:
        """Jobs queued or running whose last start (else their queueing) was before
        `before`: what a dead worker left."""
        ...

    def purge(self, now: float) -> int:
        """Delete ended jobs whose retention has passed; how many went."""
        ...


class JobQueue(Protocol):
    def enqueue(self, job_id: UUID) -> None: ...


class JobInference(Protocol):
    """The two methods of commands.inference.InferenceService jobs use."""

    async def admit(self, caller: Principal, model_id: UUID, version: str | None) -> None: ...

    async def infer(
        self,
        caller: Principal,
        model_id: UUID,
        version: str | None,
        inputs: Mapping[str, Any],
        request_id: str,
        output_format: str = "json",
    ) -> InferenceResult: ...


class JobListener(Protocol):
    def job_finished(self, job: Job) -> None:
        """A job reached a final status (its completion webhook is queued here)."""
        ...
