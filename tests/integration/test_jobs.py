"""Async inference jobs on both profiles' stores (SQLite; PostgreSQL): submit, run,
cancel, failures, ownership, a worker that dies mid-job, expiry by the clock."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from commands.jobs import JobLimits, JobService
from domain.errors import Conflict, Forbidden, NotFound, PayloadTooLarge
from infra.jobs.stores import SqlJobStore
from infra.jobs.wiring import job_runner, job_store
from tests.jobs_support import (
    FORBIDDEN_MODEL,
    Finished,
    InferenceDouble,
    principal,
    profile_settings,
)
from tests.support import MovableClock
from workers.jobs import EmbeddedJobQueue, JobRunner

TTL_S = 3600.0


@dataclass
class Parts:
    service: JobService
    store: SqlJobStore
    queue: EmbeddedJobQueue
    runner: JobRunner
    inference: InferenceDouble
    finished: Finished
    clock: MovableClock


@pytest.fixture(params=["embedded", "cluster"])
def parts(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Parts]:
    url = (
        request.getfixturevalue("event_store_database_url") if request.param == "cluster" else None
    )
    extra = {"job_ttl_s": int(TTL_S), "job_lease_s": 60.0}
    with profile_settings(request.param, tmp_path, url, **extra) as (settings, pool):
        closers: list[object] = []
        store = job_store(settings, pool, closers)  # type: ignore[arg-type]
        clock, inference, finished = MovableClock(), InferenceDouble(), Finished()
        runner = job_runner(settings, store, inference, finished, clock)
        queue = EmbeddedJobQueue(runner)
        service = JobService(store, queue, inference, finished, clock, JobLimits(2000, TTL_S))
        yield Parts(service, store, queue, runner, inference, finished, clock)


def submit(
    parts: Parts, caller: object, inputs: dict[str, object], webhook: bool = False
) -> uuid.UUID:
    return asyncio.run(parts.service.submit(caller, uuid.uuid4(), None, inputs, webhook))  # type: ignore[arg-type]


def test_a_submitted_job_runs_to_its_result(parts: Parts) -> None:
    caller = principal()
    job_id = submit(parts, caller, {"x": [1, 2.5]})
    assert parts.service.get(caller, job_id).status == "queued"
    parts.queue.drain()
    job = parts.service.get(caller, job_id)
    assert job.status == "succeeded"
    assert job.result is not None and job.result["outputs"] == {"y": [2, 5.0]}
    assert job.result["request_id"] == str(job_id)
    assert job.started_at is not None and job.finished_at is not None
    assert job.expires_at == pytest.approx(job.finished_at + TTL_S)
    assert [j.id for j in parts.finished.jobs] == [job_id]


def test_someone_elses_job_is_not_found(parts: Parts) -> None:
    job_id = submit(parts, principal(), {"x": [1]})
    intruder = principal()
    with pytest.raises(NotFound) as found:
        parts.service.get(intruder, job_id)
    assert found.value.code == "job_not_found"
    with pytest.raises(NotFound):
        parts.service.cancel(intruder, job_id)
    assert parts.service.page(intruder, None, 10)[0] == []


def test_a_canceled_queued_job_never_runs(parts: Parts) -> None:
    caller = principal()
    job_id = submit(parts, caller, {"x": [1]})
    assert parts.service.cancel(caller, job_id).status == "canceled"
    parts.queue.drain()
    assert parts.inference.calls == []
    assert parts.service.get(caller, job_id).status == "canceled"
    with pytest.raises(Conflict) as ended:
        parts.service.cancel(caller, job_id)
    assert ended.value.code == "job_finished"


def test_a_failed_inference_fails_the_job_with_its_error_code(parts: Parts) -> None:
    caller = principal()
    job_id = submit(parts, caller, {"x": "not numbers"})
    parts.queue.drain()
    job = parts.service.get(caller, job_id)
    assert job.status == "failed"
    assert job.error is not None and job.error["code"] == "input_dtype"
    assert job.result is None


def test_entitlement_errors_surface_at_submit_and_nothing_is_queued(parts: Parts) -> None:
    caller = principal()
    with pytest.raises(Forbidden):
        asyncio.run(parts.service.submit(caller, FORBIDDEN_MODEL, None, {"x": [1]}, False))
    with pytest.raises(PayloadTooLarge):
        submit(parts, caller, {"x": list(range(1000))})
    assert parts.service.page(caller, None, 10)[0] == []


def test_a_worker_killed_mid_job_is_taken_over_and_gives_one_result(parts: Parts) -> None:
    caller = principal()
    job_id = submit(parts, caller, {"x": [3]})
    dead = parts.runner.claim(job_id)  # the first worker claims it, then "crashes"
    assert dead is not None
    assert asyncio.run(parts.runner.run(job_id)) is False  # its claim is live: not run twice
    parts.clock.advance(61)  # past the lease: the Kafka redelivery finds a dead claim
    taken = parts.runner.claim(job_id)
    assert taken is not None
    job, token = dead
    late = asyncio.run(parts.runner.attempt(job))  # the first worker comes back, too late
    assert parts.runner.finish(job, token, late) is False  # while the second still runs
    outcome = asyncio.run(parts.runner.attempt(taken[0]))
    assert parts.runner.finish(taken[0], taken[1], outcome) is True
    assert asyncio.run(parts.runner.run(job_id)) is False  # a third delivery: final, skipped
    ended = parts.service.get(caller, job_id)
    assert ended.status == "succeeded" and ended.attempts == 2
    # told once by the run that ended it, once again by the third delivery (the webhook
    # service's delivery ids make the two one delivery: tests/integration/test_webhooks.py)
    assert [(j.id, j.status) for j in parts.finished.jobs] == [(job_id, "succeeded")] * 2


def test_a_job_whose_worker_died_is_taken_up_by_the_sweep_after_the_lease(parts: Parts) -> None:
    """The redelivery to the restarted worker comes while the dead claim looks live, so
    only the sweep can end the job (the chaos test's inference worker kill)."""
    caller = principal()
    job_id = submit(parts, caller, {"x": [3]})
    assert parts.runner.claim(job_id) is not None  # the worker that then dies
    assert asyncio.run(parts.runner.run(job_id)) is False  # redelivered at its restart
    asyncio.run(parts.runner.take_up_abandoned())
    assert parts.service.get(caller, job_id).status == "running"  # the lease still runs
    parts.clock.advance(61)
    asyncio.run(parts.runner.take_up_abandoned())  # (the cluster's table holds others' too)
    assert parts.service.get(caller, job_id).status == "succeeded"
    assert [j.id for j in parts.finished.jobs if j.id == job_id] == [job_id]


def test_a_job_ends_only_once_its_usage_is_written(parts: Parts) -> None:
    """The worker writes the job's usage record before its result (the chaos test's
    inference worker, killed with a record in its buffer, left a job billed never): with
    the usage topic away the job waits for the sweep, then ends, its record written."""
    written: list[str] = []

    def settle() -> None:
        if not written:
            written.append("refused")
            raise RuntimeError("the usage topic is away")
        written.append("flushed")

    runner = JobRunner(parts.store, parts.inference, parts.finished, parts.clock,
                       parts.runner.policy, settle)  # fmt: skip
    caller = principal()
    job_id = submit(parts, caller, {"x": [3]})
    assert asyncio.run(runner.run(job_id)) is False
    assert parts.service.get(caller, job_id).status == "running" and not parts.finished.jobs
    parts.clock.advance(61)
    asyncio.run(runner.take_up_abandoned())
    assert parts.service.get(caller, job_id).status == "succeeded"
    assert written[:2] == ["refused", "flushed"]


def test_cancel_wins_over_a_late_result(parts: Parts) -> None:
    caller = principal()
    job_id = submit(parts, caller, {"x": [1]})
    parts.inference.before_result = lambda: parts.service.cancel(caller, job_id) and None
    assert asyncio.run(parts.runner.run(job_id)) is False
    assert parts.service.get(caller, job_id).status == "canceled"


def test_an_ended_job_expires_after_its_retention_and_is_purged(parts: Parts) -> None:
    caller = principal()
    job_id = submit(parts, caller, {"x": [1]})
    parts.queue.drain()
    parts.clock.advance(TTL_S - 5)
    assert parts.service.get(caller, job_id).status == "succeeded"
    parts.clock.advance(10)
    with pytest.raises(NotFound) as expired:
        parts.service.get(caller, job_id)
    assert expired.value.code == "job_expired"
    assert parts.service.page(caller, None, 10)[0] == []
    parts.runner.purge_if_due()
    with pytest.raises(NotFound) as gone:
        parts.service.get(caller, job_id)
    assert gone.value.code == "job_not_found"


def test_jobs_page_newest_first(parts: Parts) -> None:
    caller = principal()
    ids = []
    for n in range(3):
        ids.append(submit(parts, caller, {"x": [n]}))
        parts.clock.advance(1)
    first, cursor = parts.service.page(caller, None, 2)
    assert [j.id for j in first] == ids[:0:-1] and cursor is not None
    rest, end = parts.service.page(caller, cursor, 2)
    assert [j.id for j in rest] == ids[:1] and end is None


def test_a_restarted_embedded_runner_takes_up_jobs_left_running(tmp_path: Path) -> None:
    with profile_settings("embedded", tmp_path, None) as (settings, _):
        closers: list[object] = []
        store = job_store(settings, None, closers)  # type: ignore[arg-type]
        clock, inference, finished = MovableClock(), InferenceDouble(), Finished()
        runner = job_runner(settings, store, inference, finished, clock)
        service = JobService(store, EmbeddedJobQueue(runner), inference, finished, clock,
                             JobLimits(2000, TTL_S))  # fmt: skip
        caller = principal()
        left_queued = submit_to(service, caller)
        left_running = submit_to(service, caller)
        assert runner.claim(left_running) is not None  # and then the process was killed
        restarted = job_store(settings, None, closers)  # type: ignore[arg-type]
        restarted.release_running()
        queue = EmbeddedJobQueue(job_runner(settings, restarted, inference, finished, clock),
                                 restarted.unfinished())  # fmt: skip
        queue.drain()
        assert {service.get(caller, j).status for j in (left_queued, left_running)} == {"succeeded"}


def submit_to(service: JobService, caller: object) -> uuid.UUID:
    return asyncio.run(service.submit(caller, uuid.uuid4(), None, {"x": [1]}, False))  # type: ignore[arg-type]
