"""The job and webhook routes through HTTP (embedded profile: its in-process queue runs the
job on the real inference service, onnxruntime in process, on a model deployed through the
API)."""

from __future__ import annotations

import time
from pathlib import Path
from uuid import uuid4

import numpy as np
import pytest
from fastapi.testclient import TestClient
from standardwebhooks import Webhook

from infra.bootstrap import Container
from infra.settings import Settings
from tests.inference_support import (
    affine_model,
    create_model,
    run_directly,
    upload_and_publish,
    wait_deployed,
)
from tests.integration.test_webhooks import Receiver, receiving
from tests.support import Account, verified_account

MODEL = affine_model()


@pytest.fixture(params=["embedded"])
def profile(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def model_id(client: TestClient, container: Container, outbox: Path) -> str:
    """A public, free, deployed model (y = x @ W + 1 over x of shape (batch, 4))."""
    publisher = verified_account(client, outbox, role="publisher")
    made = create_model(client, publisher)
    upload_and_publish(client, publisher, made, MODEL)
    assert wait_deployed(container, made) == "deployed"
    return made


def submit(client: TestClient, who: Account, model_id: str, x: list[list[float]],
           **extra: object) -> dict[str, object]:  # fmt: skip
    answer = client.post(
        f"/v1/models/{model_id}/jobs", json={"inputs": {"x": x}, **extra}, headers=who.headers
    )
    assert answer.status_code == 202, answer.text
    return dict(answer.json())


def poll(client: TestClient, url: str, headers: dict[str, str]) -> dict[str, object]:
    deadline = time.monotonic() + 10
    while True:
        body: dict[str, object] = client.get(url, headers=headers).json()
        if body.get("status") not in ("queued", "running") or time.monotonic() > deadline:
            return body
        time.sleep(0.02)


def test_submit_poll_list_and_cancel_through_http(
    client: TestClient, outbox: Path, model_id: str
) -> None:
    me, other = verified_account(client, outbox), verified_account(client, outbox)
    x = [[1.0, 2.0, 3.0, 4.0]]
    submitted = submit(client, me, model_id, x)
    url = f"/v1/jobs/{submitted['id']}"
    done = poll(client, url, me.headers)
    assert done["status"] == "succeeded", done
    got = np.array(done["result"]["outputs"]["y"])  # type: ignore[index]
    np.testing.assert_allclose(got, run_directly(MODEL, np.array(x, np.float32)), atol=1e-6)
    assert client.get(url, headers=other.headers).json()["error"]["code"] == "job_not_found"
    listed = client.get("/v1/jobs", headers=me.headers).json()
    assert [item["id"] for item in listed["items"]] == [submitted["id"]]
    finished = client.post(f"{url}/cancel", headers=me.headers)
    assert (finished.status_code, finished.json()["error"]["code"]) == (409, "job_finished")


def test_a_job_with_bad_inputs_fails_naming_the_input(
    client: TestClient, outbox: Path, model_id: str
) -> None:
    me = verified_account(client, outbox)
    submitted = submit(client, me, model_id, [[1.0, 2.0]])
    done = poll(client, f"/v1/jobs/{submitted['id']}", me.headers)
    assert done["status"] == "failed", done
    assert done["error"]["code"] == "invalid_input_tensor"  # type: ignore[index]
    assert "'x'" in done["error"]["message"]  # type: ignore[index]


def test_a_job_for_a_model_the_caller_may_not_call_is_refused_at_submit(
    client: TestClient, outbox: Path
) -> None:
    me = verified_account(client, outbox)
    answer = client.post(f"/v1/models/{uuid4()}/jobs", json={"inputs": {}}, headers=me.headers)
    assert (answer.status_code, answer.json()["error"]["code"]) == (404, "model_not_found")


def test_an_oversized_job_is_refused(client: TestClient, outbox: Path, model_id: str) -> None:
    me = verified_account(client, outbox)
    big = {"inputs": {"x": [[0.5] * 4] * 80_000}}
    answer = client.post(f"/v1/models/{model_id}/jobs", json=big, headers=me.headers)
    assert answer.status_code == 413


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.2:9000/hook",  # loopback too; 127.0.0.1 is allowed in this module
        "http://10.0.0.1/",
        "http://169.254.169.254/latest/meta-data",
        "ftp://example.com/x",
        "http://localhost:9000/",
    ],
)
def test_registering_a_private_or_odd_url_is_refused(
    client: TestClient, outbox: Path, url: str
) -> None:
    me = verified_account(client, outbox)
    answer = client.post("/v1/webhooks/endpoints", json={"url": url}, headers=me.headers)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] == "webhook_url_refused"
    assert client.get("/v1/webhooks/endpoints", headers=me.headers).json() == []


def test_endpoints_secret_and_deliveries_through_http(client: TestClient, outbox: Path) -> None:
    me = verified_account(client, outbox)
    made = client.post(
        "/v1/webhooks/endpoints", json={"url": "http://93.184.215.14/h"}, headers=me.headers
    )
    assert made.status_code == 201, made.text
    assert made.json()["secret"].startswith("whsec_")
    again = client.post(
        "/v1/webhooks/endpoints", json={"url": "http://93.184.215.14/2"}, headers=me.headers
    )
    assert again.json()["secret"] is None  # one secret per account, shown once
    rotated = client.post("/v1/webhooks/secret/rotate", headers=me.headers).json()["secret"]
    assert rotated.startswith("whsec_") and rotated != made.json()["secret"]
    gone = client.delete(f"/v1/webhooks/endpoints/{made.json()['id']}", headers=me.headers)
    assert gone.status_code == 204
    listed = client.get("/v1/webhooks/endpoints", headers=me.headers).json()
    assert [e["id"] for e in listed] == [again.json()["id"]]
    assert client.get("/v1/webhooks/deliveries", headers=me.headers).json()["items"] == []


@pytest.fixture
def settings(profile: str, tmp_path: Path) -> Settings:
    """The embedded profile, with the test's receiver (on 127.0.0.1) allowed."""
    return Settings(
        profile="embedded", argon2_time_cost=1, argon2_memory_kib=8, data_dir=tmp_path,
        webhook_allowed_hosts="127.0.0.1", webhook_retry_base_s=0.05, webhook_retry_cap_s=0.05,
        webhook_poll_s=0.05,
    )  # fmt: skip


def test_a_job_ends_in_a_signed_webhook_retried_after_a_500(
    client: TestClient, outbox: Path, model_id: str
) -> None:
    me = verified_account(client, outbox)
    with receiving(Receiver(answers=[500])) as receiver:
        made = client.post("/v1/webhooks/endpoints", json={"url": receiver.url}, headers=me.headers)
        assert made.status_code == 201, made.text
        secret = made.json()["secret"]
        job = submit(client, me, model_id, [[3.0, 0.0, 0.0, 0.0]], webhook=True)
        deadline = time.monotonic() + 10
        while len(receiver.got) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.2)  # let the dispatcher record the second attempt
    assert len(receiver.got) == 2
    for body, headers in receiver.got:
        assert Webhook(secret).verify(body, headers)["data"]["id"] == job["id"]
    [delivery] = client.get("/v1/webhooks/deliveries", headers=me.headers).json()["items"]
    assert delivery["status"] == "delivered"
    assert [a["status_code"] for a in delivery["attempts"]] == [500, 200]
