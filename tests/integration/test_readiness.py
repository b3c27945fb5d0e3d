"""/v1/ready against the real services: every dependency of the profile with its latency
and breaker; a required one on a closed port is 503 `not_ready` with the report, an
optional one only `degraded`; hung dependencies are checked at once, within the timeout.
Nothing shared is stopped: a dependency is made unreachable by pointing at a closed port
or at a socket that never answers."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
from confluent_kafka import KafkaException
from fastapi.testclient import TestClient
from pydantic import SecretStr

from infra.bootstrap import build_container
from infra.http.app import create_app
from infra.readiness import _kafka_probe
from infra.settings import Settings
from tests.http_stub import closed_port
from tests.plugins.services import StripeEndpoint, TritonEndpoint
from tests.support import MovableClock

EMBEDDED = {"event_store", "read_store", "payments"}
CLUSTER = EMBEDDED | {"search", "kafka", "redis", "triton"}


@pytest.fixture
def base(profile: str, tmp_path: Any, request: pytest.FixtureRequest) -> Settings:
    if profile == "embedded":
        return Settings(profile="embedded", data_dir=tmp_path, argon2_time_cost=1,
                        argon2_memory_kib=8)  # fmt: skip
    cluster: Settings = request.getfixturevalue("cluster_settings")
    triton: TritonEndpoint = request.getfixturevalue("triton")
    stripe: StripeEndpoint = request.getfixturevalue("stripe_api")
    return cluster.model_copy(
        update={
            "redis_url": request.getfixturevalue("redis_url"),
            "triton_grpc_url": triton.grpc_url,
            "payments": "stripe",
            "stripe_api_base": stripe.api_base,
            "stripe_api_key": SecretStr(stripe.api_key),
        }
    )


@pytest.fixture
def silent_address() -> Iterator[str]:
    """A listener that takes connections and never answers (a hung dependency)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield f"127.0.0.1:{listener.getsockname()[1]}"


def ready(settings: Settings) -> tuple[int, dict[str, Any], float]:
    container = build_container(settings, clock=MovableClock())
    try:
        with TestClient(create_app(container)) as client:
            assert client.get("/v1/health").status_code == 200  # liveness only, always
            started = time.perf_counter()
            answer = client.get("/v1/ready")
            return answer.status_code, answer.json(), time.perf_counter() - started
    finally:
        container.close()


def test_ready_reports_every_dependency_of_the_profile_with_its_latency(base: Settings) -> None:
    status, body, _ = ready(base)
    assert status == 200, body
    assert body["status"] == "ready"
    checks = body["checks"]
    assert set(checks) == (CLUSTER if base.profile == "cluster" else EMBEDDED)
    for name, check in checks.items():
        assert check["ok"] is True, (name, check)
        assert isinstance(check["latency_ms"], float) and check["latency_ms"] >= 0
    assert checks["payments"]["breaker"] == "closed"
    assert checks["event_store"]["required"] and not checks["payments"]["required"]
    if base.profile == "cluster":
        assert checks["search"]["breaker"] == checks["triton"]["breaker"] == "closed"
        assert set(body["breakers"]) == {"opensearch", "payments", "triton", "webhooks"}


@pytest.mark.parametrize("profile", ["cluster"])
def test_a_required_dependency_on_a_closed_port_is_503_with_the_report(
    base: Settings,
) -> None:
    broken = base.model_copy(
        update={"redis_url": f"redis://127.0.0.1:{closed_port()}/0", "ready_timeout_s": 5.0}
    )
    status, body, _ = ready(broken)
    assert status == 503 and body["error"]["code"] == "not_ready"
    assert "redis" in body["error"]["message"]
    checks = body["error"]["details"]["checks"]
    assert checks["redis"]["ok"] is False and checks["redis"]["latency_ms"] is None
    assert all(c["ok"] for name, c in checks.items() if name != "redis"), checks


def test_the_kafka_probe_fails_on_a_closed_port_within_its_timeout() -> None:
    # The cluster container cannot be built without its broker (it makes its topics), so
    # the probe is checked alone.
    probe = _kafka_probe(f"127.0.0.1:{closed_port()}", 0.5)
    started = time.perf_counter()
    with pytest.raises(KafkaException):
        probe()
    assert time.perf_counter() - started < 1.5


@pytest.mark.parametrize("profile", ["cluster"])
def test_an_optional_dependency_down_makes_it_degraded_not_unready(
    base: Settings,
) -> None:
    broken = base.model_copy(
        update={"triton_grpc_url": f"127.0.0.1:{closed_port()}", "ready_timeout_s": 5.0}
    )
    status, body, _ = ready(broken)
    assert status == 200 and body["status"] == "degraded", body
    assert body["checks"]["triton"]["ok"] is False
    assert body["checks"]["event_store"]["ok"] is True


@pytest.mark.parametrize("profile", ["cluster"])
def test_hung_dependencies_are_checked_at_once_within_the_timeout(
    base: Settings, silent_address: str
) -> None:
    hung = base.model_copy(
        update={
            "redis_url": f"redis://{silent_address}/0",
            "triton_grpc_url": silent_address,
            "ready_timeout_s": 1.0,
        }
    )
    status, body, elapsed = ready(hung)
    assert status == 503
    checks = body["error"]["details"]["checks"]
    assert [n for n in ("redis", "triton") if checks[n]["ok"]] == []
    assert checks["event_store"]["ok"] is True
    assert elapsed < 1.9  # two dependencies of 1 s each, checked side by side
