"""Crafted cursors and numbers are 422 with a stable code on every route that takes
them, never a 500; an unexpected error is a 500 with the error body, logged once with
its request id, and the connection stays open."""

from __future__ import annotations

import base64
import http.client
import logging
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient

from domain.user import Role
from infra.bootstrap import Container
from infra.http.app import create_app
from tests.serving import serving
from tests.support import Account, login, register, verified_account

BEYOND_64_BITS = 2**64  # and 2**63 is one past the largest signed 64-bit integer


def _b64(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


BAD_CURSORS = [
    "",
    "not base64!",
    "%%%%",
    _b64("not json"),
    _b64("{}"),
    _b64("[]"),
    _b64("12"),
    _b64('[1, "x"]'),  # no sort signature
    _b64('["00000000", 1, "x"]'),  # the signature of no listing
    _b64(f'["00000000", {2**70}, "x"]'),
    _b64(f'["00000000", {-(2**70)}, "x"]'),
    _b64(f'["00000000", {2**63}, "x"]'),
    _b64('["00000000", NaN, "x"]'),
    _b64('["00000000", 1e999, "x"]'),
    _b64('["00000000", {"$gt": ""}, "x"]'),
    _b64('["00000000", ["a"], "x"]'),
    _b64('["00000000", "\\ud800", "x"]'),  # a lone surrogate: no store can bind it
    _b64("[" * 2500),  # deeper than the JSON parser recurses
    _b64('["' + "x" * 5000 + '"]'),
    "A" * 60_000,
]


@pytest.fixture
def admin(client: TestClient, container: Container) -> Account:
    address = register(client)
    user = container.account_commands.find_user_by_email(address)
    assert user is not None
    container.auth.change_role(user.id, Role.ADMIN)
    return login(client, address)


def paged_routes(model_id: str) -> list[str]:
    """Every route that pages with a cursor."""
    return [
        "/v1/auth/api-keys",
        "/v1/admin/users",
        "/v1/access-requests",
        f"/v1/models/{model_id}/access-requests",
        f"/v1/models/{model_id}/reviews",
        "/v1/models",
    ]


def assert_error(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code, response.text
    assert error["message"] and error["request_id"]


def test_every_paged_route_refuses_every_crafted_cursor_with_invalid_cursor(
    client: TestClient, admin: Account, outbox: Path
) -> None:
    publisher = verified_account(client, outbox, role="publisher")
    body = {"slug": f"m-{uuid4().hex[:12]}", "name": "Pager", "visibility": "public"}
    created = client.post("/v1/models", json=body, headers=publisher.headers)
    assert created.status_code == 201, created.text
    for path in paged_routes(created.json()["id"]):
        for cursor in BAD_CURSORS:
            response = client.get(path, params={"cursor": cursor}, headers=admin.headers)
            assert_error(response, 422, "invalid_cursor")


def test_a_cursor_of_another_listing_is_invalid_cursor(
    client: TestClient, admin: Account, outbox: Path
) -> None:
    for _ in range(2):
        register(client)
    page = client.get("/v1/admin/users", params={"limit": 1}, headers=admin.headers).json()
    users_cursor = page["next_cursor"]
    assert users_cursor
    assert_error(client.get("/v1/models", params={"cursor": users_cursor}), 422, "invalid_cursor")
    followed = client.get(
        "/v1/admin/users", params={"limit": 1, "cursor": users_cursor}, headers=admin.headers
    )
    assert followed.status_code == 200, followed.text


def assert_refused_number(response: Any, name: str) -> None:
    """422 invalid_input, for this very number."""
    assert_error(response, 422, "invalid_input")
    assert [d["loc"][-1] for d in response.json()["error"]["details"]] == [name], response.text


def test_numbers_beyond_64_bits_are_invalid_input_everywhere(
    client: TestClient, admin: Account, outbox: Path
) -> None:
    huge = str(BEYOND_64_BITS)
    someone = str(uuid4())
    client.position = 0  # type: ignore[attr-defined]  # this test sends its own wait_for
    queries = [
        (f"/v1/audit/aggregates/{someone}/events", "after_version"),
        (f"/v1/audit/aggregates/{someone}/events", "limit"),
        (f"/v1/audit/aggregates/{someone}/state", "version"),
        ("/v1/admin/users", "limit"),
        ("/v1/admin/users", "wait_for"),
        ("/v1/auth/me", "wait_for"),
        ("/v1/models", "price_min"),
        ("/v1/models", "price_max"),
        ("/v1/models", "limit"),
        ("/v1/models", "wait_for"),
        (f"/v1/models/{someone}/reviews", "wait_for"),
        (f"/v1/models/{someone}/recommendations", "limit"),
    ]
    for path, name in queries:
        for value in (huge, str(-BEYOND_64_BITS)):
            response = client.get(path, params={name: value}, headers=admin.headers)
            assert_refused_number(response, name)
    publisher = verified_account(client, outbox, role="publisher")
    part = client.put(
        f"/v1/uploads/{someone}/parts/{huge}", content=b"x", headers=publisher.headers
    )
    assert_refused_number(part, "part")
    pricing = {"currency": "EUR", "price_per_request": 2**63}
    bodies = [
        ("/v1/models", {"slug": "s", "name": "n", "pricing": pricing}, "price_per_request"),
        (f"/v1/models/{someone}/uploads", {"version": "1.0.0", "size": 2**63,
                                          "sha256": "a" * 64}, "size"),
        (f"/v1/access-requests/{someone}/approve", {"monthly_call_cap": 2**70},
         "monthly_call_cap"),
    ]  # fmt: skip
    for path, body, name in bodies:
        response = client.post(path, json=body, headers=publisher.headers)
        assert_refused_number(response, name)


def test_a_download_link_with_other_digits_is_refused_not_a_500(client: TestClient) -> None:
    response = client.get(f"/v1/downloads/sha256/{'a' * 64}", params={"expires": "²"})
    assert response.status_code in (401, 403, 422), response.text
    assert response.json()["error"]["code"]


def test_an_unexpected_error_is_a_500_logged_once_with_its_request_id_on_an_open_connection(
    client: TestClient,
    container: Container,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    account = login(client, register(client))

    def broken(*_: object) -> None:
        raise RuntimeError("a bug in a query handler")

    monkeypatch.setattr(container.account_queries, "me", broken)
    with serving(create_app(container)) as base:
        connection = http.client.HTTPConnection(urlsplit(base).netloc, timeout=10)
        caplog.clear()
        caplog.set_level(logging.INFO)
        headers = {**account.headers, "X-Request-ID": "fault-1"}
        connection.request("GET", "/v1/auth/me", headers=headers)
        failed = connection.getresponse()
        body = failed.read()
        socket_before = connection.sock
        assert failed.status == 500
        assert b'"code": "internal_error"' in body and b'"request_id": "fault-1"' in body
        assert not failed.will_close  # the server keeps the connection open
        connection.request("GET", "/v1/health")
        after = connection.getresponse()
        assert after.status == 200 and after.read()
        assert connection.sock is socket_before  # the same connection answered again
        connection.close()
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, [r.getMessage() for r in errors]
    assert getattr(errors[0], "request_id", None) == "fault-1"
    assert errors[0].exc_info is not None
    assert "a bug in a query handler" in str(errors[0].exc_info[1])
