"""Async inference jobs: submit, read, list, cancel (the caller's own only)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, status

from commands.jobs import JobService
from commands.webhooks import job_summary
from infra.http.deps import Inferrer, Use
from infra.http.params import Limit, PageCursor
from infra.http.schemas import jobs as schemas

router = APIRouter(prefix="/v1", tags=["jobs"])
Jobs = Annotated[JobService, Use(JobService)]


@router.post(
    "/models/{model_id}/jobs",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=schemas.JobAccepted,
)
async def submit(
    model_id: UUID,
    body: schemas.JobCreate,
    caller: Inferrer,
    jobs: Jobs,
    version: Annotated[str | None, Query(max_length=64)] = None,
) -> schemas.JobAccepted:
    """Queue an inference call; poll GET /v1/jobs/{id}, or ask for a completion webhook."""
    job_id = await jobs.submit(caller, model_id, version, body.inputs, body.webhook)
    return schemas.JobAccepted(id=job_id, status="queued")


@router.get("/jobs/{job_id}", response_model=schemas.JobPublic)
def get_job(job_id: UUID, caller: Inferrer, jobs: Jobs) -> schemas.JobPublic:
    """A job of the caller's: status, timings, and the result or the error."""
    return schemas.JobPublic.model_validate(job_summary(jobs.get(caller, job_id)))


@router.post("/jobs/{job_id}/cancel", response_model=schemas.JobPublic)
def cancel_job(job_id: UUID, caller: Inferrer, jobs: Jobs) -> schemas.JobPublic:
    """Cancel a queued or running job (a result that comes later is dropped)."""
    return schemas.JobPublic.model_validate(job_summary(jobs.cancel(caller, job_id)))


@router.get("/jobs", response_model=schemas.JobsPage)
def list_jobs(
    caller: Inferrer, jobs: Jobs, cursor: PageCursor, limit: Limit = 50
) -> schemas.JobsPage:
    """The caller's jobs, newest first, until they expire."""
    found, next_cursor = jobs.page(caller, cursor, limit)
    items = [schemas.JobPublic.model_validate(job_summary(job)) for job in found]
    return schemas.JobsPage.model_validate({"items": items, "next_cursor": next_cursor})
