"""Inference calls per minute by the caller's plan, on token buckets: the free tier gets
the smaller bucket, paid access (and the publisher) the full one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from infra.bootstrap import Container
from infra.settings import Settings
from tests.inference_support import (
    affine_model,
    api_key,
    code,
    create_model,
    infer,
    on_triton,
    upload_and_publish,
    wait_deployed,
)
from tests.support import refusals, verified_account

FREE_PER_MINUTE = 2


@pytest.fixture
def settings(settings: Settings, profile: str, request: pytest.FixtureRequest) -> Settings:
    served = on_triton(settings, profile, request)
    return served.model_copy(update={"inference_free_calls_per_minute": FREE_PER_MINUTE})


def test_the_free_tier_gets_fewer_calls_a_minute_than_paid_access(
    client: TestClient, container: Container, outbox: Path
) -> None:
    publisher = verified_account(client, outbox, role="publisher")
    consumer = verified_account(client, outbox)
    model_id = create_model(client, publisher)
    upload_and_publish(client, publisher, model_id, affine_model())
    assert wait_deployed(container, model_id) == "deployed"
    x = np.ones((1, 4), dtype=np.float32)
    free_key, owner_key = api_key(client, consumer), api_key(client, publisher)
    refused_before = refusals("inference")
    free = [infer(client, free_key, model_id, {"x": (x * n).tolist()}) for n in range(3)]
    assert [r.status_code for r in free] == [200, 200, 429]
    assert code(free[2]) == "rate_limited"
    assert int(free[2].headers["retry-after"]) == 60 // FREE_PER_MINUTE
    assert refusals("inference") - refused_before == 1  # the plan's refusal, counted once
    owner = [infer(client, owner_key, model_id, {"x": (x * n).tolist()}) for n in range(3)]
    assert [r.status_code for r in owner] == [200, 200, 200]
