"""The publisher's side of the registry over HTTP, on both profiles: create, change,
price, version; bad input; and every model endpoint called with someone else's keys."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient

from domain.model import Model
from infra.bootstrap import Container
from projections.catalog import SEARCH_INDEXES
from tests.integration.test_uploads import model_bytes, publish, upload
from tests.support import Account, verified_account


def create(client: TestClient, owner: Account, slug: str = "resnet-50", **body: Any) -> str:
    response = client.post(
        "/v1/models", json={"slug": slug, "name": "ResNet 50", **body}, headers=owner.headers
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def validated(container: Container, model_id: str, *versions: str) -> None:
    """Versions with a validated artifact, as the upload flow leaves them."""
    model = container.app.load(Model, UUID(model_id))
    for version in versions:
        model.upload_version(version, "sha256:" + "a" * 64, 100, uuid4())
        model.validate_version(version, "onnx", {"inputs": [], "outputs": []})
    container.app.save(model)


def code(response: Any) -> str:
    return str(response.json()["error"]["code"])


@pytest.fixture
def publisher(client: TestClient, outbox: Path) -> Account:
    return verified_account(client, outbox, role="publisher")


def test_publisher_creates_prices_publishes_and_rolls_back(
    client: TestClient, container: Container, publisher: Account
) -> None:
    model_id = create(client, publisher, tags=["Vision"], pricing={"currency": "EUR"})
    changed = client.patch(
        f"/v1/models/{model_id}",
        json={"visibility": "public", "task": "image-classification", "description": "# Card"},
        headers=publisher.headers,
    )
    assert changed.status_code == 200
    # A draft's prices change at once; the answer says from when.
    priced = client.put(
        f"/v1/models/{model_id}/pricing",
        json={"currency": "EUR", "price_per_request": 3, "free_requests_per_month": 100},
        headers=publisher.headers,
    )
    assert priced.status_code == 200, priced.text
    validated(container, model_id, "1.0.0", "1.1.0")
    for version in ("1.0.0", "1.1.0"):
        published = client.post(
            f"/v1/models/{model_id}/versions/{version}/publish", headers=publisher.headers
        )
        assert published.status_code == 200, published.text
    rollback = client.put(
        f"/v1/models/{model_id}/default-version",
        json={"version": "1.0.0"},
        headers=publisher.headers,
    )
    assert rollback.status_code == 200
    # Once published, a new price list waits for the next billing period.
    later = client.put(
        f"/v1/models/{model_id}/pricing",
        json={"currency": "EUR", "price_per_request": 5},
        headers=publisher.headers,
    ).json()
    assert later["effective_from"].endswith("-01T00:00:00+00:00")
    model = container.app.load(Model, UUID(model_id))
    assert (model.status, model.default_version, model.tags) == ("published", "1.0.0", ["vision"])
    assert model.pricing_at(datetime.now(UTC)).price_per_request == 3


def test_slug_is_unique_per_publisher_only(
    client: TestClient, outbox: Path, publisher: Account
) -> None:
    create(client, publisher, slug="bert")
    again = client.post(
        "/v1/models", json={"slug": "bert", "name": "Other"}, headers=publisher.headers
    )
    assert (again.status_code, code(again)) == (409, "slug_taken")
    other = verified_account(client, outbox, role="publisher")
    create(client, other, slug="bert")


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ({"slug": "Bad Slug", "name": "x"}, 422, "invalid_slug"),
        ({"slug": "ok", "name": "x", "framework": "caffe9"}, 422, "invalid_input"),
        ({"slug": "ok", "name": "x", "owner": "me"}, 422, "invalid_input"),
        ({"slug": "ok", "name": "x", "pricing": {"currency": "EUR", "price_per_request": 2.5}},
         422, "invalid_input"),
        ({"slug": "ok", "name": "x", "pricing": {"currency": "euro"}}, 422, "invalid_input"),
        ({"slug": "ok", "name": "x", "pricing": {"currency": "eur"}}, 422, "invalid_pricing"),
        ({"slug": "ok", "name": "x", "tags": ["a"] * 21}, 422, "invalid_input"),
        ({"slug": "ok"}, 422, "invalid_input"),
    ],
)  # fmt: skip
def test_bad_model_input_is_a_422_and_stores_nothing(
    client: TestClient, container: Container, publisher: Account, body: dict[str, Any],
    status: int, error: str,
) -> None:  # fmt: skip
    before = container.app.recorder.max_notification_id()
    response = client.post("/v1/models", json=body, headers=publisher.headers)
    assert (response.status_code, code(response)) == (status, error)
    assert container.app.recorder.max_notification_id() == before


def test_only_verified_publishers_create_models(client: TestClient, outbox: Path) -> None:
    consumer = verified_account(client, outbox, role="consumer")
    refused = client.post("/v1/models", json={"slug": "x", "name": "x"}, headers=consumer.headers)
    assert (refused.status_code, code(refused)) == (403, "publisher_role_required")
    anonymous = client.post("/v1/models", json={"slug": "x", "name": "x"})
    assert anonymous.status_code == 401


def test_a_read_only_api_key_cannot_change_models(client: TestClient, publisher: Account) -> None:
    key = client.post(
        "/v1/auth/api-keys",
        json={"name": "ci", "scopes": ["models:read"]},
        headers=publisher.headers,
    ).json()["key"]
    refused = client.post("/v1/models", json={"slug": "x", "name": "x"}, headers={"X-API-Key": key})
    assert (refused.status_code, code(refused)) == (403, "insufficient_scope")
    writer = client.post(
        "/v1/auth/api-keys",
        json={"name": "ci", "scopes": ["models:write"]},
        headers=publisher.headers,
    ).json()["key"]
    made = client.post("/v1/models", json={"slug": "x", "name": "x"}, headers={"X-API-Key": writer})
    assert made.status_code == 201


def calls(model_id: str) -> list[tuple[str, str, dict[str, Any] | None]]:
    return [
        ("PATCH", f"/v1/models/{model_id}", {"name": "mine now"}),
        ("PUT", f"/v1/models/{model_id}/pricing", {"currency": "EUR", "price_per_request": 0}),
        ("POST", f"/v1/models/{model_id}/versions/1.0.0/publish", None),
        ("PUT", f"/v1/models/{model_id}/default-version", {"version": "1.0.0"}),
        ("POST", f"/v1/models/{model_id}/deprecate", {"reason": "mine"}),
        ("DELETE", f"/v1/models/{model_id}", None),
    ]


def test_another_publisher_gets_404_on_private_and_403_on_public_models(
    client: TestClient, container: Container, outbox: Path, publisher: Account
) -> None:
    model_id = create(client, publisher)
    validated(container, model_id, "1.0.0")
    intruder = verified_account(client, outbox, role="publisher")
    before = container.app.recorder.max_notification_id()
    for method, url, body in calls(model_id):
        response = client.request(method, url, json=body, headers=intruder.headers)
        assert (response.status_code, code(response)) == (404, "model_not_found"), url
    client.patch(f"/v1/models/{model_id}", json={"visibility": "public"}, headers=publisher.headers)
    before = container.app.recorder.max_notification_id()
    for method, url, body in calls(model_id):
        response = client.request(method, url, json=body, headers=intruder.headers)
        assert (response.status_code, code(response)) == (403, "not_model_owner"), url
    assert container.app.recorder.max_notification_id() == before  # nothing was written


def test_version_rules_answer_409_with_codes(
    client: TestClient, container: Container, publisher: Account
) -> None:
    model_id = create(client, publisher)
    not_yet = client.post(
        f"/v1/models/{model_id}/versions/1.0.0/publish", headers=publisher.headers
    )
    assert (not_yet.status_code, code(not_yet)) == (404, "version_not_found")
    bad = client.post(f"/v1/models/{model_id}/versions/1.0/publish", headers=publisher.headers)
    assert (bad.status_code, code(bad)) == (422, "invalid_version")
    validated(container, model_id, "1.0.0", "2.0.0")
    default = client.put(
        f"/v1/models/{model_id}/default-version",
        json={"version": "2.0.0"},
        headers=publisher.headers,
    )
    assert (default.status_code, code(default)) == (409, "version_status")
    deleted = client.delete(f"/v1/models/{model_id}", headers=publisher.headers)
    assert deleted.status_code == 200
    gone = client.patch(f"/v1/models/{model_id}", json={"name": "x"}, headers=publisher.headers)
    assert (gone.status_code, code(gone)) == (404, "model_not_found")


# Embedded only: dropping the cluster session's shared index would empty it for other tests.
@pytest.mark.parametrize("profile", ["embedded"])
def test_catalogue_without_its_search_index_answers_503_not_500(
    client: TestClient, container: Container
) -> None:
    assert client.get("/v1/models").status_code == 200  # made when the app started
    container.read.search.drop("models")
    missing = client.get("/v1/models", params={"q": "resnet"})
    assert (missing.status_code, code(missing)) == (503, "search_index_missing")
    assert "aimarket projections rebuild" in missing.json()["error"]["message"]
    _, text, keywords, numbers = SEARCH_INDEXES["models"]
    container.read.search.ensure("models", text, keywords, numbers)


def test_an_uploaded_onnx_model_is_published_then_found_by_search_and_filters(
    client: TestClient, publisher: Account
) -> None:
    word = f"zebu{uuid4().hex[:6]}"  # a word no other test's model has
    model_id = create(
        client, publisher, slug=f"tiny-{word}", visibility="public", task="tabular-regression",
        tags=["tiny", word], description=f"A small {word} regressor for tests.",
    )  # fmt: skip
    result = upload(client, publisher, model_id, model_bytes())
    assert result["status"] == "validated", result
    assert result["signature"]["inputs"][0]["shape"] == ["batch", 256]
    publish(client, publisher, model_id, "1.0.0")

    found = client.get("/v1/models", params={"q": word}).json()
    assert [item["id"] for item in found["items"]] == [model_id]
    assert "<em>" in str(found["items"][0]["highlights"])
    filters = {"task": "tabular-regression", "tags": word, "framework": "onnx", "price": "free"}
    assert client.get("/v1/models", params=filters).json()["total"] == 1
    other = client.get("/v1/models", params={"q": word, "framework": "pytorch"}).json()
    assert other["total"] == 0 and other["facets"]["framework"] == {"onnx": 1}
    page = client.get(f"/v1/models/{model_id}").json()
    assert page["default_version"] == "1.0.0"
    assert page["signature"]["inputs"][0]["name"] == "x"
    assert [v["status"] for v in page["versions"]] == ["published"]
