"""`aimarket worker inference`: a faust agent over the job topic, concurrency=1 (upstream
issue 606: more can commit an offset past a job still running). At-least-once: a worker
killed mid-job has not committed the offset, so the job id comes again, and the runner's
claim (taken over after the lease) and token-guarded write keep it to one result; a
timer takes up what a killed worker held, once the lease has passed."""

from __future__ import annotations

import logging
from pathlib import Path
from uuid import UUID

import faust

from workers.faust_app import worker_app
from workers.jobs import JobRunner

log = logging.getLogger("aimarket.jobs")


def make_inference_app(
    bootstrap: str, runner: JobRunner, topic_name: str, app_id: str, *, datadir: Path
) -> faust.App:
    app = worker_app(app_id, bootstrap, datadir)
    topic = app.topic(topic_name, key_type=bytes, value_type=bytes, value_serializer="raw")

    async def run_jobs(stream: faust.StreamT[bytes]) -> None:
        async for value in stream:
            try:
                job_id = UUID(value.decode())
            except (UnicodeDecodeError, ValueError):
                continue  # not one of ours: nothing to run
            try:
                await runner.run(job_id)
            except Exception:  # the database away (a restart): the sweep runs it later
                log.exception("job %s: not run now; left for the sweep", job_id)

    app.agent(topic, name="run-jobs", concurrency=1)(run_jobs)

    async def take_up_abandoned() -> None:
        try:
            await runner.take_up_abandoned()
        except Exception:  # the database away (a restart): the next round tries again,
            # rather than an exception in a timer ending the worker
            log.exception("the sweep for abandoned jobs failed; trying again later")

    # A job a killed worker held is run again once its lease has passed.
    app.timer(interval=max(1.0, runner.policy.lease_s / 4))(take_up_abandoned)
    return app
