"""A consumer's calls, end to end on both profiles: real models uploaded, published and
deployed (onnxruntime in process; Triton with `aimarket worker deployer`), called through
the API (single, batch, async job), every call a usage record with its cost, rolled up
into the Usage aggregates: the consumer may then review the model, and the model
recommends the other one they used."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path
from uuid import UUID

import numpy as np
import pytest
from fastapi.testclient import TestClient

from commands.metering_ports import CallStatus
from infra.bootstrap import Container
from infra.settings import Settings
from tests.inference_support import (
    affine_model,
    api_key,
    create_model,
    infer,
    on_triton,
    run_directly,
    upload_and_publish,
    wait_deployed,
)
from tests.pipeline import rolling_up, wait_until
from tests.support import Account, MovableClock, verified_account

X = np.random.default_rng(5).standard_normal((1, 4)).astype(np.float32)


@pytest.fixture
def settings(settings: Settings, profile: str, request: pytest.FixtureRequest) -> Settings:
    return on_triton(settings, profile, request, "cluster_job_worker")


def deployed(client: TestClient, container: Container, publisher: Account, name: str,
             weights: np.ndarray) -> tuple[str, bytes]:  # fmt: skip
    content = affine_model(weights)
    model_id = create_model(client, publisher, name=name)
    upload_and_publish(client, publisher, model_id, content)
    assert wait_deployed(container, model_id) == "deployed"
    return model_id, content


def test_calls_are_metered_and_make_the_caller_a_reviewer_with_co_use_recommendations(
    client: TestClient, container: Container, settings: Settings, outbox: Path,
    clock: MovableClock,
) -> None:  # fmt: skip
    publisher = verified_account(client, outbox, role="publisher")
    rng = np.random.default_rng(9)
    first, first_onnx = deployed(client, container, publisher, "Journey One",
                                 rng.standard_normal((4, 3)).astype(np.float32))  # fmt: skip
    second, _ = deployed(client, container, publisher, "Journey Two",
                         rng.standard_normal((4, 3)).astype(np.float32))  # fmt: skip
    consumer = verified_account(client, outbox)
    key = api_key(client, consumer)
    review = {"version": "1.0.0", "rating": 4, "title": "Quick", "body": ""}
    refused = client.post(f"/v1/models/{first}/reviews", json=review, headers=consumer.headers)
    assert refused.json()["error"]["code"] == "not_a_user_of_model"

    single = infer(client, key, first, {"x": X.tolist()})
    assert single.status_code == 200, single.text
    np.testing.assert_allclose(single.json()["outputs"]["y"], run_directly(first_onnx, X),
                               atol=1e-6)  # fmt: skip
    batch = client.post(f"/v1/models/{second}/infer/batch", headers=key,
                        json={"items": [{"x": X.tolist()}, {"x": [[1.0]]}]})  # fmt: skip
    assert [i["error"] is None for i in batch.json()["items"]] == [True, False]
    assert infer(client, key, first, {"x": [["text"]]}).status_code == 422
    job = client.post(f"/v1/models/{first}/jobs", json={"inputs": {"x": X.tolist()}},
                      headers=key).json()  # fmt: skip
    deadline = time.monotonic() + 60
    while client.get(f"/v1/jobs/{job['id']}", headers=key).json()["status"] != "succeeded":
        assert time.monotonic() < deadline, "the job did not run"
        time.sleep(0.05)

    container.usage_meter.flush()  # the cluster's job worker flushes its own soon after
    since = clock.now() - timedelta(hours=1)
    ledger = container.usage_meter.ledger
    wait_until(lambda: len(ledger.records_for(UUID(consumer.id), since, 100)) >= 3, 30,
               "the job's usage record")  # fmt: skip
    records = ledger.records_for(UUID(consumer.id), since, 100)
    assert len(records) == 3  # the call, the batch's good item, the job; no bad input
    assert {r.status for r in records} == {CallStatus.SUCCEEDED}
    assert job["id"] in {r.request_id for r in records}
    assert {r.cost_amount for r in records} == {0}  # free models

    with rolling_up(container, settings):
        wait_until(lambda: container.usage.has_used(UUID(consumer.id), UUID(second)), 60,
                   "the roll-up")  # fmt: skip
        wait_until(lambda: container.usage.has_used(UUID(consumer.id), UUID(first)), 60,
                   "the roll-up")  # fmt: skip
    written = client.post(f"/v1/models/{first}/reviews", json=review, headers=consumer.headers)
    assert written.status_code == 201, written.text
    recommended = client.get(f"/v1/models/{first}/recommendations", params={"wait_for": 0})
    assert recommended.status_code == 200, recommended.text
    wait_until(lambda: second in _recommended(client, first), 60, "co-use in the read model")


def _recommended(client: TestClient, model_id: str) -> set[str]:
    answer = client.get(f"/v1/models/{model_id}/recommendations").json()
    return {item["model"]["id"] for item in answer["items"] if "also used" in item["reason"]}
