"""The one breaker and retry policy (infra/resilience.py) on the real adapters, over real
sockets: a closed port, a real OpenSearch behind a proxy the test cuts, and tiny HTTP
servers started here that answer what each test needs and count the attempts.

pybreaker reads the wall clock; the half-open test moves it with time-machine."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
import time_machine
from prometheus_client import REGISTRY

from commands.payment_ports import ProviderUnavailable
from domain.errors import InvalidInput
from infra.clock import SystemClock
from infra.payments.stripe_gateway import StripeGateway
from infra.resilience import BreakerPolicy, BreakerRegistry, RetryPolicy
from infra.search import IndexNotFound, SearchUnavailable
from infra.search.opensearch import OpenSearchIndex
from infra.webhooks.sender import WebhookSender
from infra.webhooks.ssrf import UrlGuard
from tests.http_stub import Stub, closed_port, stub_server
from tests.tcp_proxy import proxy_to

FAST = RetryPolicy(attempts=1)


def registry(
    fail_max: int = 2, retry: RetryPolicy = FAST, reset_s: float = 30.0
) -> BreakerRegistry:
    return BreakerRegistry(BreakerPolicy(fail_max=fail_max, reset_timeout_s=reset_s), retry)


def gauge(dependency: str) -> float | None:
    return REGISTRY.get_sample_value("aimarket_breaker_state", {"dependency": dependency})


def search_at(url: str, breakers: BreakerRegistry, timeout_s: float = 1.0) -> OpenSearchIndex:
    return OpenSearchIndex(url, f"t{uuid4().hex[:8]}", timeout_s, breakers)


@pytest.fixture
def stub() -> Iterator[Stub]:
    with stub_server(Stub()) as running:
        yield running


def test_the_breaker_opens_after_its_threshold_on_a_closed_port_and_then_fails_fast() -> None:
    breakers = registry(fail_max=2)
    index = search_at(f"http://127.0.0.1:{closed_port()}", breakers)
    for _ in range(2):
        with pytest.raises(SearchUnavailable, match="did not answer"):
            index.search("models", "anything")
    assert breakers.state_of("opensearch") == "open" and gauge("opensearch") == 2
    started = time.perf_counter()
    with pytest.raises(SearchUnavailable, match="paused") as paused:
        index.search("models", "anything")
    assert time.perf_counter() - started < 0.05  # no connection was tried
    assert paused.value.retry_after_s == 30


@pytest.mark.services("opensearch")
def test_a_half_open_probe_through_the_restored_connection_closes_it(opensearch_url: str) -> None:
    address = opensearch_url.removeprefix("http://")
    with proxy_to(address) as proxy:
        breakers = registry(fail_max=2, reset_s=5.0)
        index = search_at(f"http://{proxy.address}", breakers, timeout_s=30.0)
        index.ensure("docs", ["text"], [])  # administration: outside the breaker
        try:
            proxy.down()
            for _ in range(2):
                with pytest.raises(SearchUnavailable):
                    index.refresh("docs")
            with pytest.raises(SearchUnavailable, match="paused"):
                index.refresh("docs")
            proxy.up()
            with pytest.raises(SearchUnavailable, match="paused"):  # still cooling down
                index.refresh("docs")
            later = datetime.now(UTC) + timedelta(seconds=6)
            with time_machine.travel(later, tick=True):
                assert breakers.state_of("opensearch") == "open"
                index.refresh("docs")  # the trial call gets through
            assert breakers.state_of("opensearch") == "closed" and gauge("opensearch") == 0
        finally:
            OpenSearchIndex(opensearch_url, index.prefix, 30.0).drop("docs")


def test_a_4xx_answer_counts_for_nothing_and_is_not_retried(stub: Stub) -> None:
    stub.status, stub.body = 404, {"error": {"type": "index_not_found_exception"}, "status": 404}
    retry = RetryPolicy(attempts=3, wait_base_s=0.01, wait_max_s=0.02)
    breakers = registry(fail_max=2, retry=retry)
    index = search_at(stub.url, breakers)
    for _ in range(5):
        with pytest.raises(IndexNotFound):
            index.search("models", "anything")
    assert stub.hits == 5  # one attempt each
    assert breakers.state_of("opensearch") == "closed"


def test_retries_are_bounded_and_jittered(stub: Stub) -> None:
    stub.status = 503
    retry = RetryPolicy(attempts=4, wait_base_s=0.05, wait_max_s=0.2)
    runs = []
    for _ in range(2):
        stub.arrivals.clear()
        index = search_at(stub.url, registry(fail_max=100, retry=retry))
        with pytest.raises(SearchUnavailable, match="did not answer"):
            index.search("models", "anything")
        assert stub.hits == 4  # the client itself retries nothing; the policy 3 more times
        assert all(gap < 0.2 + 0.1 for gap in stub.gaps())  # capped
        runs.append(stub.gaps())
    # Full jitter: each wait is drawn at random, so two runs do not wait alike.
    assert any(abs(a - b) > 0.005 for a, b in zip(runs[0], runs[1], strict=True))


def test_a_payment_call_is_retried_with_its_idempotency_key_and_a_400_is_not(
    stub: Stub,
) -> None:
    stub.status, stub.body = 500, {"error": {"type": "api_error", "message": "boom"}}
    retry = RetryPolicy(attempts=3, wait_base_s=0.01, wait_max_s=0.05)
    breakers = registry(fail_max=10, retry=retry)
    gateway = StripeGateway("sk_test_123", stub.url, SystemClock(), 2.0, breakers)
    key = f"customer-{uuid4()}"
    with pytest.raises(ProviderUnavailable):
        gateway.create_customer(uuid4(), "a@example.com", idempotency_key=key)
    assert stub.hits == 3
    assert {h["idempotency-key"] for h in stub.headers} == {key}  # one key: safe to repeat

    stub.status = 400
    stub.body = {"error": {"type": "invalid_request_error", "message": "no such thing"}}
    with pytest.raises(InvalidInput):
        gateway.create_customer(uuid4(), "a@example.com", idempotency_key=f"c-{uuid4()}")
    assert stub.hits == 4  # a refusal is an answer: not retried, and not a failure
    assert breakers.state_of("payments") == "closed"


def test_the_payment_breaker_opens_and_answers_with_retry_after() -> None:
    breakers = registry(fail_max=2, reset_s=7.0)
    gateway = StripeGateway("sk_test_123", f"http://127.0.0.1:{closed_port()}", SystemClock(),
                            1.0, breakers)  # fmt: skip
    for _ in range(2):
        with pytest.raises(ProviderUnavailable, match="did not answer"):
            gateway.create_customer(uuid4(), "a@example.com", idempotency_key=f"c-{uuid4()}")
    with pytest.raises(ProviderUnavailable, match="paused") as paused:
        gateway.create_customer(uuid4(), "a@example.com", idempotency_key=f"c-{uuid4()}")
    assert paused.value.retry_after_s == 7 and gauge("payments") == 2


def test_a_failing_webhook_endpoint_pauses_only_its_own_deliveries(stub: Stub) -> None:
    stub.status = 503
    breakers = registry(fail_max=2)
    sender = WebhookSender(UrlGuard(["127.0.0.1"]), 1.0, 1.0, breakers)
    with stub_server(Stub(200)) as healthy:
        try:
            sent = [sender.send(stub.url + "/hook", b"{}", {}, 0.0) for _ in range(3)]
            assert [(a.outcome, a.status_code) for a in sent[:2]] == [("failed", 503)] * 2
            assert sent[2].outcome == "failed" and "paused" in (sent[2].error or "")
            assert stub.hits == 2  # the third was not sent
            assert breakers.state_of("webhooks") == "open" and gauge("webhooks") == 2
            assert sender.send(healthy.url + "/hook", b"{}", {}, 0.0).outcome == "delivered"
        finally:
            sender.close()


def test_a_webhook_endpoint_answering_4xx_keeps_its_breaker_closed(stub: Stub) -> None:
    stub.status = 410
    breakers = registry(fail_max=2)
    sender = WebhookSender(UrlGuard(["127.0.0.1"]), 1.0, 1.0, breakers)
    try:
        sent = [sender.send(stub.url, b"{}", {}, 0.0) for _ in range(4)]
    finally:
        sender.close()
    assert [(a.outcome, a.status_code) for a in sent] == [("failed", 410)] * 4
    assert stub.hits == 4 and breakers.state_of("webhooks") == "closed"
