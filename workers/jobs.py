"""The job runner: claim a job, run it as its submitter, write the result only under the
claim, tell the listener (the completion webhook). No faust here: the embedded profile
runs it on a thread (EmbeddedJobQueue below), the cluster from a Kafka topic
(workers/jobs_app.py). Delivery is at-least-once either way; the claim token makes the
result write idempotent, and a cancel wins over a late result."""

from __future__ import annotations

import asyncio
import logging
import queue
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from uuid import UUID

from commands.job_ports import (
    FAILED,
    SUCCEEDED,
    Job,
    JobInference,
    JobListener,
    JobStore,
    Outcome,
    epoch,
    principal_of,
)
from domain.clock import Clock
from domain.errors import DomainError

log = logging.getLogger("aimarket.jobs")
PURGE_EVERY_S = 60.0
INTERNAL = "the job failed on our side; quote its id if you report it"


@dataclass(frozen=True)
class RunnerPolicy:
    ttl_s: float  # results kept this long after a job ends
    lease_s: float  # a `running` claim older than this belongs to a dead worker


class JobRunner:
    def __init__(
        self,
        store: JobStore,
        inference: JobInference,
        listener: JobListener,
        clock: Clock,
        policy: RunnerPolicy,
        settle: Callable[[], object] | None = None,
    ) -> None:
        """`settle`: writes the usage records metered so far (the meter's flush), so a
        job's record is safe before its result is: a worker killed in between would
        otherwise lose the record of a job it ended."""
        self.store, self.inference, self.listener = store, inference, listener
        self.clock, self.policy, self.settle = clock, policy, settle
        self._purged_at = 0.0

    def claim(self, job_id: UUID) -> tuple[Job, str] | None:
        """The job, running under a fresh token; None if it is final or another worker
        holds a live claim."""
        now = epoch(self.clock.now())
        token = secrets.token_hex(8)
        job = self.store.claim(job_id, token, now, now - self.policy.lease_s)
        return None if job is None else (job, token)

    async def run(self, job_id: UUID) -> bool:
        """Run one delivered job id; True if this attempt wrote its outcome."""
        self.purge_if_due()
        claimed = self.claim(job_id)
        if claimed is None:
            self._tell_again_if_ended(job_id)
            return False
        job, token = claimed
        outcome = await self.attempt(job)
        if not await self._settled(job.id):
            return False  # still claimed: the sweep runs it again (its record keeps its id)
        return self.finish(job, token, outcome)

    async def _settled(self, job_id: UUID) -> bool:
        if self.settle is None:
            return True
        try:
            await asyncio.to_thread(self.settle)
        except Exception as error:  # the usage topic is away: the result must wait too
            log.warning("job %s: usage not written (%s); left for the sweep", job_id, error)
            return False
        return True

    def _tell_again_if_ended(self, job_id: UUID) -> None:
        """A worker may die between a job's result and its webhook: an ended job delivered
        again is told to the listener again (its deliveries' ids make that once)."""
        job = self.store.get(job_id)
        if job is not None and job.final:
            self.listener.job_finished(job)

    async def take_up_abandoned(self) -> int:
        """Run the jobs a dead worker left: claimed longer ago than the lease, or queued
        that long (its id lost on the way). A worker killed mid-job gets its job id again
        at once, while its claim still looks live, so that delivery is skipped and only
        this sweep finishes the job. Returns how many this call ended."""
        ended = 0
        for job_id in self.store.abandoned(epoch(self.clock.now()) - self.policy.lease_s):
            ended += await self.run(job_id)
        return ended

    async def attempt(self, job: Job) -> Outcome:
        try:
            result = await self.inference.infer(
                principal_of(job.caller), job.model_id, job.version, job.inputs, str(job.id)
            )
        except DomainError as error:
            return Outcome(FAILED, error={"code": error.code, "message": error.message})
        except Exception:  # a bug, not the caller's: end the job rather than retry it forever
            log.exception("job %s: inference raised", job.id)
            return Outcome(FAILED, error={"code": "internal_error", "message": INTERNAL})
        return Outcome(SUCCEEDED, result=result.as_json())

    def finish(self, job: Job, token: str, outcome: Outcome) -> bool:
        now = epoch(self.clock.now())
        if not self.store.finish(job.id, token, outcome, now, self.policy.ttl_s):
            log.info("job %s: outcome dropped (canceled or claimed again)", job.id)
            return False
        ended = self.store.get(job.id)
        if ended is not None:
            self.listener.job_finished(ended)
        return True

    def purge_if_due(self) -> None:
        now = epoch(self.clock.now())
        if now - self._purged_at >= PURGE_EVERY_S:
            self._purged_at = now
            self.store.purge(now)


class EmbeddedJobQueue:
    """The embedded profile's queue: job ids on a thread with its own event loop. On start
    it takes up what a killed process left queued or running, so no job is lost."""

    def __init__(self, runner: JobRunner, pending: list[UUID] | None = None) -> None:
        self.runner = runner
        self._ids: queue.Queue[UUID | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        for job_id in pending or []:
            self._ids.put(job_id)

    def enqueue(self, job_id: UUID) -> None:
        self._ids.put(job_id)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._work, name="aimarket-jobs", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._ids.put(None)
            self._thread.join(timeout=10)
            self._thread = None

    def drain(self) -> None:
        """Run what is queued now, on the caller's thread (tests, before start)."""
        loop = asyncio.new_event_loop()
        try:
            while not self._ids.empty():
                job_id = self._ids.get()
                if job_id is not None:
                    loop.run_until_complete(self._one(job_id))
        finally:
            loop.close()

    def _work(self) -> None:
        loop = asyncio.new_event_loop()
        try:
            while (job_id := self._ids.get()) is not None:
                loop.run_until_complete(self._one(job_id))
        finally:
            loop.close()

    async def _one(self, job_id: UUID) -> None:
        try:
            await self.runner.run(job_id)
        except Exception:  # one bad job must not stop the queue; it stays queued/running
            log.exception("job %s failed to run", job_id)
