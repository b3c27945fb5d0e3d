"""The job and webhook routes through HTTP (embedded profile: its in-process queue runs the
job). The inference service is the port's stand-in until the inference handler lands."""

from __future__ import annotations

import time
from pathlib import Path
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient
from standardwebhooks import Webhook

from infra.bootstrap import Container
from infra.settings import Settings
from tests.integration.test_webhooks import Receiver, receiving
from tests.jobs_support import InferenceDouble
from tests.support import verified_account
from workers.jobs import EmbeddedJobQueue


@pytest.fixture(params=["embedded"])
def profile(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def inference(container: Container) -> InferenceDouble:
    double = InferenceDouble()
    container.jobs.inference = double
    queue = next(w for w in container.background if isinstance(w, EmbeddedJobQueue))
    queue.runner.inference = double
    return double


def poll(client: TestClient, url: str, headers: dict[str, str]) -> dict[str, object]:
    deadline = time.monotonic() + 10
    while True:
        body: dict[str, object] = client.get(url, headers=headers).json()
        if body.get("status") not in ("queued", "running") or time.monotonic() > deadline:
            return body
        time.sleep(0.02)


def test_submit_poll_list_and_cancel_through_http(
    client: TestClient, outbox: Path, inference: InferenceDouble
) -> None:
    me, other = verified_account(client, outbox), verified_account(client, outbox)
    submitted = client.post(
        f"/v1/models/{uuid4()}/jobs", json={"inputs": {"x": [1, 2]}}, headers=me.headers
    )
    assert submitted.status_code == 202, submitted.text
    url = f"/v1/jobs/{submitted.json()['id']}"
    done = poll(client, url, me.headers)
    assert done["status"] == "succeeded", done
    assert done["result"]["outputs"] == {"y": [2, 4]}  # type: ignore[index]
    assert client.get(url, headers=other.headers).json()["error"]["code"] == "job_not_found"
    listed = client.get("/v1/jobs", headers=me.headers).json()
    assert [item["id"] for item in listed["items"]] == [submitted.json()["id"]]
    finished = client.post(f"{url}/cancel", headers=me.headers)
    assert (finished.status_code, finished.json()["error"]["code"]) == (409, "job_finished")


def test_an_oversized_job_is_refused(
    client: TestClient, outbox: Path, inference: InferenceDouble
) -> None:
    me = verified_account(client, outbox)
    big = {"inputs": {"x": [0.5] * 300_000}}
    answer = client.post(f"/v1/models/{uuid4()}/jobs", json=big, headers=me.headers)
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
    client: TestClient, outbox: Path, inference: InferenceDouble
) -> None:
    me = verified_account(client, outbox)
    with receiving(Receiver(answers=[500])) as receiver:
        made = client.post("/v1/webhooks/endpoints", json={"url": receiver.url}, headers=me.headers)
        assert made.status_code == 201, made.text
        secret = made.json()["secret"]
        job = client.post(
            f"/v1/models/{uuid4()}/jobs",
            json={"inputs": {"x": [3]}, "webhook": True},
            headers=me.headers,
        ).json()
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
