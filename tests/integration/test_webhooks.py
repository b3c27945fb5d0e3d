"""Completion webhooks on both profiles' stores: a local receiver verifying with the
`standardwebhooks` package answers 500 then 200; rotation keeps both secrets valid; the
SSRF guard refuses private addresses at registration, after DNS and on redirects."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from standardwebhooks import Webhook

from commands.jobs import JobLimits, JobService
from commands.webhook_ports import Delivery
from domain.errors import InvalidInput
from domain.principal import Principal
from infra.jobs.wiring import Webhooks, build_webhooks, job_runner, job_store
from infra.webhooks.ssrf import UrlGuard
from tests.jobs_support import InferenceDouble, principal, profile_settings
from tests.support import MovableClock
from workers.jobs import EmbeddedJobQueue


@dataclass
class Receiver:
    """Answers `answers` in turn (then 200), or redirects; keeps every request."""

    answers: list[int] = field(default_factory=list)
    redirect_to: str | None = None
    got: list[tuple[bytes, dict[str, str]]] = field(default_factory=list)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"


@contextmanager
def receiving(receiver: Receiver) -> Iterator[Receiver]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            receiver.got.append((body, dict(self.headers.items())))
            if receiver.redirect_to:
                self.send_response(307)
                self.send_header("location", receiver.redirect_to)
            else:
                self.send_response(receiver.answers.pop(0) if receiver.answers else 200)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Parts:
    hooks: Webhooks
    jobs: JobService
    queue: EmbeddedJobQueue
    clock: MovableClock

    def finish_job(self, caller: Principal, inputs: dict[str, Any]) -> uuid.UUID:
        job_id = asyncio.run(self.jobs.submit(caller, uuid.uuid4(), None, inputs, True))
        self.queue.drain()
        return job_id

    def dispatch_until_settled(self, limit: int = 10) -> None:
        for _ in range(limit):
            self.clock.advance(1)  # past the (shrunk) backoff, on the clock port
            self.hooks.dispatcher.run_once()

    def only_delivery(self, caller: Principal) -> Delivery:
        found, _ = self.hooks.service.deliveries(caller, None, None, 10)
        assert len(found) == 1
        return found[0]


@pytest.fixture(params=["embedded", "cluster"])
def parts(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Parts]:
    url = None
    if request.param == "cluster":
        url = request.getfixturevalue("event_store_database_url")
    extra = {"webhook_allowed_hosts": "127.0.0.1", "webhook_retry_base_s": 0.5,
             "webhook_retry_cap_s": 0.5}  # fmt: skip
    with profile_settings(request.param, tmp_path, url, **extra) as (settings, pool):
        closers: list[Any] = []
        clock = MovableClock()
        hooks = build_webhooks(settings, pool, clock, closers)
        store, inference = job_store(settings, pool, closers), InferenceDouble()
        queue = EmbeddedJobQueue(job_runner(settings, store, inference, hooks.service, clock))
        jobs = JobService(store, queue, inference, hooks.service, clock, JobLimits(10_000, 3600))
        yield Parts(hooks, jobs, queue, clock)
        for close in reversed(closers):
            close()


def test_a_job_webhook_is_retried_after_a_500_and_verifies(parts: Parts) -> None:
    caller = principal()
    with receiving(Receiver(answers=[500])) as receiver:
        _, secret = parts.hooks.service.add_endpoint(caller, receiver.url, "mine")
        assert secret is not None and secret.startswith("whsec_")
        job_id = parts.finish_job(caller, {"x": [2]})
        parts.dispatch_until_settled()
    assert len(receiver.got) == 2
    for body, headers in receiver.got:
        event = Webhook(secret).verify(body, headers)  # the receivers' own verifier
        assert event["type"] == "job.succeeded"
        assert event["data"]["id"] == str(job_id)
        assert event["data"]["result"]["outputs"] == {"y": [4]}
    assert receiver.got[0][1]["webhook-id"] == receiver.got[1][1]["webhook-id"]
    delivery = parts.only_delivery(caller)
    assert delivery.status == "delivered"
    assert [(a.outcome, a.status_code) for a in delivery.attempts] == [
        ("failed", 500),
        ("delivered", 200),
    ]
    assert all(a.duration_ms > 0 for a in delivery.attempts)


def test_after_a_rotation_old_and_new_secrets_both_verify(parts: Parts) -> None:
    caller = principal()
    with receiving(Receiver()) as receiver:
        _, old = parts.hooks.service.add_endpoint(caller, receiver.url, "")
        new = parts.hooks.service.rotate_secret(caller)
        assert old and new != old
        parts.finish_job(caller, {"x": "bad"})
        parts.dispatch_until_settled(2)
        parts.clock.advance(24 * 3600 + 1)  # the grace period ends: only the new one signs
        parts.hooks.service.redeliver(caller, parts.only_delivery(caller).id)
        parts.hooks.dispatcher.run_once()
    (body, headers), (_, later) = receiver.got
    assert Webhook(old).verify(body, headers)["type"] == "job.failed"
    assert Webhook(new).verify(body, headers)["data"]["error"]["code"] == "input_dtype"
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert len(later["webhook-signature"].split(" ")) == 1


def test_a_redirect_to_a_private_address_is_refused_and_logged(parts: Parts) -> None:
    for target in ("http://localhost:9/", "http://169.254.169.254/latest/meta-data"):
        caller = principal()
        with receiving(Receiver(redirect_to=target)) as receiver:
            parts.hooks.service.add_endpoint(caller, receiver.url, "")
            parts.finish_job(caller, {"x": [1]})
            parts.dispatch_until_settled(3)
        assert len(receiver.got) == 1  # the hop was checked, never sent
        delivery = parts.only_delivery(caller)
        assert delivery.status == "failed"
        [attempt] = delivery.attempts
        assert attempt.outcome == "refused"
        assert "loopback" in str(attempt.error) or "link-local" in str(attempt.error)


def test_a_job_whose_worker_died_before_its_webhook_gets_it_once_when_delivered_again(
    parts: Parts,
) -> None:
    """Killed between the result and the webhook (the chaos test's inference worker kill):
    the job id delivered again makes the delivery, and again after that, still one."""
    caller = principal()
    parts.hooks.service.add_endpoint(caller, "http://127.0.0.1:9/", "")
    job_id = asyncio.run(parts.jobs.submit(caller, uuid.uuid4(), None, {"x": [1]}, True))
    runner = parts.queue.runner
    claimed = runner.claim(job_id)
    assert claimed is not None
    job, token = claimed
    outcome = asyncio.run(runner.attempt(job))
    runner.store.finish(job_id, token, outcome, parts.clock.now().timestamp(), 3600)  # dies
    assert parts.hooks.service.deliveries(caller, None, None, 10)[0] == []
    assert asyncio.run(runner.run(job_id)) is False  # redelivered: nothing to run, told again
    asyncio.run(runner.run(job_id))
    [delivery] = parts.hooks.service.deliveries(caller, None, None, 10)[0]
    assert delivery.event_type == "job.succeeded"


def test_a_job_without_webhook_makes_no_delivery(parts: Parts) -> None:
    caller = principal()
    parts.hooks.service.add_endpoint(caller, "http://127.0.0.1:9/", "")
    asyncio.run(parts.jobs.submit(caller, uuid.uuid4(), None, {"x": [1]}, False))
    parts.queue.drain()
    assert parts.hooks.service.deliveries(caller, None, None, 10)[0] == []


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://127.0.0.1:8080/hook", "loopback"),
        ("http://10.0.0.1/", "private"),
        ("http://169.254.169.254/latest/meta-data", "link-local"),
        ("http://100.64.1.1/", "private"),
        ("http://[::ffff:127.0.0.1]/", "loopback"),
        ("http://[fd00::1]/", "private"),
        ("http://localhost:8080/", "loopback"),  # refused after DNS
        ("ftp://example.com/", "only http and https"),
        ("http://user:pw@example.com/", "credentials"),
    ],
)
def test_the_guard_refuses_non_public_targets(url: str, why: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        UrlGuard().check(url)
    assert refused.value.code == "webhook_url_refused"
    assert why in refused.value.message


def test_the_allow_list_exempts_named_hosts_only() -> None:
    guard = UrlGuard(["127.0.0.1"])
    assert guard.check("http://127.0.0.1:8080/").address == "127.0.0.1"
    with pytest.raises(InvalidInput):
        guard.check("http://localhost:8080/")
