"""The cluster's job queue: job ids go to Kafka keyed by job id, and the faust agent of
`aimarket worker inference` runs each delivered id once, a redelivery giving no second
result (the agent driven broker-less, as faust's testing guide does)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer

from commands.budgets import Budgets
from commands.jobs import JobLimits, JobService
from commands.paid_access import PurchasedAccess
from infra.clock import SystemClock
from infra.inference.wiring import standalone_inference
from infra.jobs.wiring import job_runner, job_store
from infra.kafka.jobs import KafkaJobQueue
from infra.kafka.topics import ensure_topics
from infra.settings import Settings
from tests.jobs_support import Finished, InferenceDouble, principal, profile_settings
from tests.support import MovableClock
from workers.jobs_app import make_inference_app


def test_a_submitted_job_id_is_produced_keyed_by_itself(kafka_bootstrap: str) -> None:
    topic = f"t{uuid.uuid4().hex[:8]}.jobs"
    ensure_topics(kafka_bootstrap, [topic], 3, 3_600_000)
    queue = KafkaJobQueue(kafka_bootstrap, topic)
    job_id = uuid.uuid4()
    queue.enqueue(job_id)
    queue.close()
    consumer = Consumer({"bootstrap.servers": kafka_bootstrap, "group.id": topic,
                         "auto.offset.reset": "earliest"})  # fmt: skip
    consumer.subscribe([topic])
    try:
        message = None
        for _ in range(60):
            message = consumer.poll(0.5)
            if message is not None and message.error() is None:
                break
        assert message is not None and message.error() is None
        assert message.key() == message.value() == str(job_id).encode()
    finally:
        consumer.close()


def test_the_inference_agent_runs_a_redelivered_job_once(
    event_store_database_url: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    with profile_settings("cluster", tmp_path, event_store_database_url) as (settings, pool):
        closers: list[Any] = []
        store, clock = job_store(settings, pool, closers), MovableClock()
        inference, finished = InferenceDouble(), Finished()
        runner = job_runner(settings, store, inference, finished, clock)
        sent: list[uuid.UUID] = []
        queue = type("Q", (), {"enqueue": lambda self, job_id: sent.append(job_id)})()
        service = JobService(store, queue, inference, finished, clock, JobLimits(1000, 60))
        caller = principal()
        job_id = asyncio.run(service.submit(caller, uuid.uuid4(), None, {"x": [4]}, False))
        app = make_inference_app(kafka_bootstrap, runner, "jobs-test", "jobs-test",
                                 datadir=tmp_path / "faust")  # fmt: skip
        app.conf.store = "memory://"
        app.finalize()
        app.flow_control.resume()
        agent = app.agents["run-jobs"]

        async def deliver_twice() -> None:
            async with agent.test_context() as context:
                for _ in range(2):  # at-least-once: the same id again
                    await context.put(key=str(job_id).encode(), value=str(job_id).encode())

        asyncio.run(deliver_twice())
        assert sent == [job_id]
        job = service.get(caller, job_id)
        assert job.status == "succeeded" and job.result["outputs"] == {"y": [8]}  # type: ignore[index]
        assert inference.calls == [str(job_id)]  # run once; the second delivery tells the
        # listener again, whose delivery ids make that one webhook (test_webhooks.py)
        assert {j.id for j in finished.jobs} == {job_id}


def test_the_job_workers_calls_are_entitled_as_the_apis_are(
    cluster_inference_settings: Settings,
) -> None:
    """A job is admitted again as it runs: the worker's service knows purchases,
    subscriptions and budgets, or a buyer's job past the free tier would be refused."""
    closers: list[Callable[[], object]] = []
    try:
        service = standalone_inference(cluster_inference_settings, SystemClock(), closers)
        assert isinstance(service.paid_access, PurchasedAccess)
        assert isinstance(service.budgets, Budgets)
    finally:
        for close in reversed(closers):
            close()


def test_a_job_the_queue_did_not_take_is_canceled_and_its_submit_is_a_503(
    event_store_database_url: str, tmp_path: Path
) -> None:
    """Kafka away (the chaos test's restart): the caller is told to try again, and the job
    it never heard of is final, not queued forever (nor run if its id arrives late)."""
    from domain.errors import Unavailable
    from tests.serving import free_port

    with profile_settings("cluster", tmp_path, event_store_database_url) as (settings, pool):
        store = job_store(settings, pool, [])
        finished = Finished()
        queue = KafkaJobQueue(f"127.0.0.1:{free_port()}", "t.jobs", timeout_s=1)  # no broker
        limits = JobLimits(2000, 3600.0)
        service = JobService(store, queue, InferenceDouble(), finished, MovableClock(), limits)
        caller = principal()
        with pytest.raises(Unavailable):
            asyncio.run(service.submit(caller, uuid.uuid4(), None, {"x": [1]}, True))
        [job] = service.page(caller, None, 10)[0]
        assert job.status == "canceled" and finished.jobs == []  # no webhook for it either
