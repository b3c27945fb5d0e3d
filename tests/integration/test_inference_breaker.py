"""Triton out of reach (the real one, behind a proxy the test cuts): calls answer 503
`upstream_unavailable` and are not billed, the breaker opens and fails fast, and after
its pause one trial call through the restored connection closes it again."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from uuid import UUID

import numpy as np
import pytest
from fastapi.testclient import TestClient

from infra.bootstrap import Container, build_container
from infra.http.app import create_app
from infra.settings import Settings
from tests.inference_support import (
    affine_model,
    api_key,
    code,
    create_model,
    infer,
    upload_and_publish,
    wait_deployed,
)
from tests.support import ConsistentClient, MovableClock, verified_account
from tests.tcp_proxy import Proxy, proxy_to

X = np.ones((1, 4), np.float32).tolist()
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
RESET_S = 1.0


@pytest.fixture
def proxy(cluster_inference_settings: Settings) -> Iterator[Proxy]:
    with proxy_to(cluster_inference_settings.triton_grpc_url) as running:
        yield running


@pytest.fixture
def container(
    cluster_inference_settings: Settings, cluster_pipeline: object, cluster_deployer: object,
    proxy: Proxy, clock: MovableClock,
) -> Iterator[Container]:  # fmt: skip
    settings = cluster_inference_settings.model_copy(
        update={"triton_grpc_url": proxy.address, "breaker_fail_max": 2,
                "breaker_reset_timeout_s": RESET_S, "inference_timeout_s": 5.0}
    )  # fmt: skip
    built = build_container(settings, clock=clock)
    yield built
    built.close()


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    with ConsistentClient(create_app(container), raise_server_exceptions=False) as test_client:
        yield test_client


def test_an_unreachable_triton_is_503_unbilled_and_the_breaker_opens_then_recovers(
    client: TestClient, container: Container, proxy: Proxy
) -> None:
    outbox = container.settings.data_dir / "outbox"
    publisher = verified_account(client, outbox, role="publisher")
    model_id = create_model(client, publisher)
    upload_and_publish(client, publisher, model_id, affine_model())
    assert wait_deployed(container, model_id) == "deployed"
    consumer = verified_account(client, outbox)
    key = api_key(client, consumer)
    assert infer(client, key, model_id, {"x": X}).status_code == 200

    proxy.down()
    failures = [infer(client, key, model_id, {"x": X}) for _ in range(2)]
    assert [(r.status_code, code(r)) for r in failures] == [(503, "upstream_unavailable")] * 2
    fast = infer(client, key, model_id, {"x": X})
    assert (fast.status_code, code(fast)) == (503, "upstream_unavailable")
    assert "paused" in fast.json()["error"]["message"]  # the breaker, not a call to Triton
    assert int(fast.headers["Retry-After"]) >= 1

    proxy.up()
    time.sleep(RESET_S + 0.2)  # the breaker's own pause (pybreaker reads the wall clock)
    recovered = infer(client, key, model_id, {"x": X})
    assert recovered.status_code == 200, recovered.text
    container.usage_meter.flush()
    since = container.usage_meter.ledger.records_for(UUID(consumer.id), EPOCH, 10)
    assert [r.status for r in since] == ["succeeded", *["unavailable"] * 3, "succeeded"]
    assert [r.cost_amount for r in since] == [0] * 5 and not any(r.billed for r in since)
