"""Async inference jobs: submit (checked like a call, then queued), read, list, cancel.
The runner (workers/jobs.py) runs them; results are kept `ttl_s` after a job ends."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from commands.job_ports import (
    QUEUED,
    Job,
    JobInference,
    JobListener,
    JobQueue,
    JobStore,
    caller_of,
    epoch,
)
from domain.clock import Clock
from domain.errors import Conflict, NotFound, PayloadTooLarge
from domain.principal import Principal
from projections.cursor import Cursor, sort_signature

PAGE_SORT = sort_signature([("queued_at", -1), ("id", -1)])


class JobNotFound(NotFound):
    code = "job_not_found"


@dataclass(frozen=True)
class JobLimits:
    max_input_bytes: int  # the stored inputs, as JSON: the same bound as a sync call's body
    ttl_s: float  # how long an ended job and its result are kept


class JobService:
    def __init__(
        self,
        store: JobStore,
        queue: JobQueue,
        inference: JobInference,
        listener: JobListener,
        clock: Clock,
        limits: JobLimits,
    ) -> None:
        self.store, self.queue, self.inference = store, queue, inference
        self.listener, self.clock, self.limits = listener, clock, limits

    async def submit(
        self,
        caller: Principal,
        model_id: UUID,
        version: str | None,
        inputs: Mapping[str, Any],
        webhook: bool,
    ) -> UUID:
        """Checked as a call would be (auth, entitlement, limits: errors surface now),
        then stored `queued` and handed to the queue."""
        self._check_size(inputs)
        await self.inference.admit(caller, model_id, version)
        job = Job(
            id=uuid.uuid4(),
            owner_id=caller.user_id,
            caller=caller_of(caller),
            model_id=model_id,
            version=version,
            inputs=dict(inputs),
            webhook=webhook,
            status=QUEUED,
            queued_at=epoch(self.clock.now()),
        )
        self.store.insert(job)
        try:
            self.queue.enqueue(job.id)
        except Exception:
            # The caller hears "try again" and makes a new job: this one, which no one
            # knows of, must neither wait queued forever nor run if its id reaches the
            # queue late. Canceled, it is final (a late delivery finds nothing to run).
            self.store.cancel(job.id, epoch(self.clock.now()), self.limits.ttl_s)
            raise
        return job.id

    def _check_size(self, inputs: Mapping[str, Any]) -> None:
        size = len(json.dumps(inputs, separators=(",", ":")))
        if size > self.limits.max_input_bytes:
            raise PayloadTooLarge(
                f"a job's inputs are at most {self.limits.max_input_bytes} bytes of JSON"
            )

    def get(self, caller: Principal, job_id: UUID) -> Job:
        """The caller's job; someone else's, an unknown or a purged one is 404
        `job_not_found`, one past its retention but not yet purged 404 `job_expired`."""
        job = self.store.get(job_id)
        if job is None or job.owner_id != caller.user_id:
            raise JobNotFound(f"no job {job_id}")
        if job.expires_at is not None and job.expires_at <= epoch(self.clock.now()):
            raise JobNotFound(f"job {job_id} ended and its result is gone", code="job_expired")
        return job

    def page(
        self, caller: Principal, cursor: Cursor | None, limit: int
    ) -> tuple[list[Job], Cursor | None]:
        after = None
        if cursor is not None:
            queued_at, job_id = cursor.values_for(PAGE_SORT, 2)
            after = (float(queued_at or 0), str(job_id))
        now = epoch(self.clock.now())
        jobs = [
            j
            for j in self.store.page(caller.user_id, after, limit)
            if j.expires_at is None or j.expires_at > now
        ]
        last = jobs[-1] if len(jobs) == limit else None
        return jobs, Cursor(PAGE_SORT, (last.queued_at, str(last.id))) if last else None

    def cancel(self, caller: Principal, job_id: UUID) -> Job:
        """queued or running → canceled (a late result is then dropped); an ended job
        is 409 `job_finished`."""
        job = self.get(caller, job_id)
        if job.final:
            raise Conflict(f"job {job_id} already ended: {job.status}", code="job_finished")
        after = self.store.cancel(job_id, epoch(self.clock.now()), self.limits.ttl_s)
        if after is None:  # it ended between the read and the update
            raise Conflict(f"job {job_id} already ended", code="job_finished")
        self.listener.job_finished(after)
        return after
