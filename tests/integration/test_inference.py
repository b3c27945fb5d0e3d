"""Calling a model through the API: the same answers as onnxruntime on the same inputs,
every bad input a 4xx naming it, batches, entitlement and its costs, the response cache,
cold starts and deployments still loading or failed told apart."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any
from uuid import UUID

import numpy as np
import pytest
from fastapi.testclient import TestClient

from domain.model import Model
from infra.bootstrap import Container
from infra.settings import Settings
from tests.inference_support import (
    affine_model,
    api_key,
    code,
    create_model,
    deployed_model,
    infer,
    on_triton,
    run_directly,
    upload_and_publish,
)
from tests.support import Account, verified_account

MODEL = affine_model()
X = np.random.default_rng(11).standard_normal((2, 4)).astype(np.float32)


@pytest.fixture
def settings(settings: Settings, profile: str, request: pytest.FixtureRequest) -> Settings:
    return on_triton(settings, profile, request)


@pytest.fixture
def publisher(client: TestClient, outbox: Path) -> Account:
    return verified_account(client, outbox, role="publisher")


@pytest.fixture
def consumer(client: TestClient, outbox: Path) -> Account:
    return verified_account(client, outbox)


def b64(array: np.ndarray) -> dict[str, Any]:
    raw = array.astype(array.dtype.newbyteorder("<")).tobytes()
    return {
        "b64": base64.b64encode(raw).decode(),
        "dtype": str(array.dtype),
        "shape": list(array.shape),
    }


def test_a_call_answers_as_onnxruntime_does_with_its_version_timings_and_cost(
    client: TestClient, container: Container, publisher: Account, consumer: Account
) -> None:
    model_id = deployed_model(client, container, publisher)
    response = infer(client, api_key(client, consumer), model_id, {"x": X.tolist()})
    assert response.status_code == 200, response.text
    body = response.json()
    np.testing.assert_allclose(np.array(body["outputs"]["y"]), run_directly(MODEL, X), atol=1e-6)
    assert body["version"] == "1.0.0" and body["model_id"] == model_id
    assert set(body["timings_ms"]) == {"queue", "compute", "total"}
    assert body["timings_ms"]["total"] >= body["timings_ms"]["compute"] > 0
    assert body["cost"] == {"units": 1, "amount": 0, "currency": "USD"}
    assert (body["cached"], body["cold_start"]) == (False, False)
    assert response.headers["x-cost-amount"] == "0"
    assert response.headers["x-model-version"] == "1.0.0"


def test_raw_base64_tensors_in_and_out_equal_the_nested_lists(
    client: TestClient, container: Container, publisher: Account, consumer: Account
) -> None:
    model_id = deployed_model(client, container, publisher)
    response = infer(client, api_key(client, consumer), model_id, {"x": b64(X)},
                     output_format="base64")  # fmt: skip
    assert response.status_code == 200, response.text
    y = response.json()["outputs"]["y"]
    got = np.frombuffer(base64.b64decode(y["b64"]), dtype="<f4").reshape(y["shape"])
    np.testing.assert_allclose(got, run_directly(MODEL, X), atol=1e-6)
    assert y["dtype"] == "float32"


BAD_INPUTS = [
    ({"x": [["a", "b", "c", "d"]]}, "'x'"),  # text for float32
    ({"x": [[1.0, 2.0, 3.0]]}, "'x' has shape [1, 3]"),  # wrong inner size
    ({"x": [1.0, 2.0, 3.0, 4.0]}, "'x' has shape [4]"),  # wrong rank
    ({"x": [[1.0, 2.0], [1.0]]}, "'x'"),  # ragged
    ({}, "'x' is missing"),
    ({"x": X.tolist(), "z": [1]}, "unknown input 'z'"),
    ({"x": {"b64": "not base64!!", "dtype": "float32", "shape": [1, 4]}}, "'x': b64"),
    ({"x": {"b64": base64.b64encode(b"\0" * 12).decode(), "dtype": "float32", "shape": [1, 4]}},
     "'x': 12 bytes"),
    ({"x": {**b64(X), "dtype": "float64"}}, "'x' must be float32"),
    ({"x": {"b64": "", "shape": [1, 4], "extra": 1}}, "'x': a raw tensor"),
]  # fmt: skip


@pytest.mark.parametrize(("inputs", "named"), BAD_INPUTS)
def test_a_bad_input_is_a_4xx_that_names_it_and_bills_nothing(
    client: TestClient, container: Container, publisher: Account, consumer: Account,
    inputs: dict[str, Any], named: str,
) -> None:  # fmt: skip
    model_id = deployed_model(client, container, publisher)
    response = infer(client, api_key(client, consumer), model_id, inputs)
    assert response.status_code == 422, response.text
    assert named in response.json()["error"]["message"]
    assert code(response) == "invalid_input_tensor"


def test_an_input_over_the_limit_is_413(
    client: TestClient, container: Container, publisher: Account, consumer: Account
) -> None:
    model_id = deployed_model(client, container, publisher)
    big = np.zeros((container.settings.inference_max_input_bytes // 16 + 1, 4), np.float32)
    response = infer(client, api_key(client, consumer), model_id, {"x": b64(big)})
    assert (response.status_code, code(response)) == (413, "input_too_large")


def test_a_batch_runs_its_good_items_in_one_call_and_names_the_bad_one(
    client: TestClient, container: Container, publisher: Account, consumer: Account
) -> None:
    model_id = deployed_model(client, container, publisher)
    items = [{"x": X[:1].tolist()}, {"x": [[1, 2, 3]]}, {"x": X.tolist()}]
    response = client.post(
        f"/v1/models/{model_id}/infer/batch", json={"items": items},
        headers=api_key(client, consumer),
    )  # fmt: skip
    assert response.status_code == 200, response.text
    first, bad, third = response.json()["items"]
    np.testing.assert_allclose(
        first["result"]["outputs"]["y"], run_directly(MODEL, X[:1]), atol=1e-6
    )
    np.testing.assert_allclose(third["result"]["outputs"]["y"], run_directly(MODEL, X), atol=1e-6)
    assert bad["result"] is None and bad["error"]["code"] == "invalid_input_tensor"
    assert first["result"]["request_id"] != third["result"]["request_id"]
    assert response.json()["cost"]["units"] == 2


def test_callers_need_credentials_and_the_inference_scope(
    client: TestClient, container: Container, publisher: Account, consumer: Account
) -> None:
    model_id = deployed_model(client, container, publisher)
    anonymous = infer(client, {}, model_id, {"x": X.tolist()})
    assert anonymous.status_code == 401
    reader = api_key(client, consumer, scopes=("models:read",))
    refused = infer(client, reader, model_id, {"x": X.tolist()})
    assert (refused.status_code, code(refused)) == (403, "insufficient_scope")
    with_token = infer(client, consumer.headers, model_id, {"x": X.tolist()})
    assert with_token.status_code == 200, with_token.text


def test_a_paid_model_is_free_within_its_free_tier_then_asks_for_payment(
    client: TestClient, container: Container, publisher: Account, consumer: Account
) -> None:
    pricing = {"currency": "EUR", "free_requests_per_month": 2, "price_per_request": 5}
    model_id = deployed_model(client, container, publisher, pricing=pricing)
    key = api_key(client, consumer)
    for _ in range(2):
        free = infer(client, key, model_id, {"x": X.tolist()})
        assert free.status_code == 200, free.text
        assert free.json()["cost"] == {"units": 1, "amount": 0, "currency": "EUR"}
    past = infer(client, key, model_id, {"x": X.tolist()})
    assert (past.status_code, code(past)) == (402, "payment_required")
    own = infer(client, api_key(client, publisher), model_id, {"x": X.tolist()})
    assert own.status_code == 200 and own.json()["cost"]["amount"] == 0


def test_a_gated_model_needs_a_grant_and_keeps_to_its_monthly_cap(
    client: TestClient, container: Container, publisher: Account, consumer: Account
) -> None:
    model_id = deployed_model(client, container, publisher, gated=True)
    key = api_key(client, consumer)
    refused = infer(client, key, model_id, {"x": X.tolist()})
    assert (refused.status_code, code(refused)) == (403, "access_required")
    asked = client.post(
        f"/v1/models/{model_id}/access-requests", json={"answers": []}, headers=consumer.headers
    )
    assert asked.status_code == 201, asked.text
    approved = client.post(
        f"/v1/access-requests/{asked.json()['id']}/approve", json={"monthly_call_cap": 2},
        headers=publisher.headers,
    )  # fmt: skip
    assert approved.status_code == 200, approved.text
    for _ in range(2):
        assert infer(client, key, model_id, {"x": X.tolist()}).status_code == 200
    capped = infer(client, key, model_id, {"x": X.tolist()})
    assert (capped.status_code, code(capped)) == (429, "monthly_cap_reached")
    assert int(capped.headers["Retry-After"]) >= 1


class Paid:
    """Billing's port until purchases land (issue 14): this caller has bought the model."""

    def has_paid_access(self, consumer_id: UUID, model_id: UUID) -> bool:
        return True


@pytest.mark.parametrize(("mode", "hit_cost"), [("billed", 5), ("free", 0)])
def test_the_response_cache_answers_equal_inputs_and_bills_hits_as_the_model_says(
    client: TestClient, container: Container, publisher: Account, consumer: Account,
    mode: str, hit_cost: int,
) -> None:  # fmt: skip
    pricing = {"currency": "EUR", "price_per_request": 5}
    model_id = deployed_model(client, container, publisher, pricing=pricing, response_cache=mode)
    container.inference.paid_access = Paid()
    key = api_key(client, consumer)
    first = infer(client, key, model_id, {"x": X.tolist()}).json()
    again = infer(client, key, model_id, {"x": b64(X)}).json()  # equal tensors, other form
    other = infer(client, key, model_id, {"x": (X + 1).tolist()}).json()
    assert (first["cached"], again["cached"], other["cached"]) == (False, True, False)
    assert again["outputs"] == first["outputs"]
    assert (first["cost"]["amount"], again["cost"]["amount"]) == (5, hit_cost)


def test_without_the_publishers_opt_in_nothing_is_cached(
    client: TestClient, container: Container, publisher: Account
) -> None:
    model_id = deployed_model(client, container, publisher)
    key = api_key(client, publisher)
    answers = [infer(client, key, model_id, {"x": X.tolist()}).json() for _ in range(2)]
    assert [a["cached"] for a in answers] == [False, False]


@pytest.mark.parametrize("profile", ["embedded"])  # its engine and deployer in process
def test_a_version_not_in_memory_is_loaded_for_the_call_as_a_cold_start_not_billed(
    client: TestClient, container: Container, publisher: Account, consumer: Account
) -> None:
    model_id = deployed_model(client, container, publisher)
    model = container.app.load(Model, UUID(model_id))
    container.inference_engine.pool.remove(f"m{model.id.hex}_v1_0_0")  # type: ignore[attr-defined]
    cold = infer(client, api_key(client, consumer), model_id, {"x": X.tolist()})
    assert cold.status_code == 200, cold.text
    assert cold.json()["cold_start"] is True and cold.json()["cost"]["amount"] == 0
    warm = infer(client, api_key(client, consumer), model_id, {"x": X.tolist()})
    assert warm.json()["cold_start"] is False


@pytest.mark.parametrize("profile", ["embedded"])  # its engine and deployer in process
def test_a_version_still_deploying_is_503_model_loading_and_a_failed_one_model_unavailable(
    client: TestClient, container: Container, publisher: Account, consumer: Account
) -> None:
    assert container.deployer_worker is not None
    container.deployer_worker.stop()  # the version stays `deploying`
    model_id = create_model(client, publisher)
    upload_and_publish(client, publisher, model_id, MODEL)
    key = api_key(client, consumer)
    loading = infer(client, key, model_id, {"x": X.tolist()})
    assert (loading.status_code, code(loading)) == (503, "model_loading")
    assert int(loading.headers["Retry-After"]) >= 1
    model = container.app.load(Model, UUID(model_id))
    model.record_deployment_failed("1.0.0", "onnxruntime", "the engine said no")
    container.app.save(model)
    failed = infer(client, key, model_id, {"x": X.tolist()})
    assert (failed.status_code, code(failed)) == (503, "model_unavailable")
    assert "the engine said no" in failed.json()["error"]["message"]
