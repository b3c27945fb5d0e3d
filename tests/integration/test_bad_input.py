"""Bad input gets a clear 4xx with a stable code and the one error body; never a 500."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.support import PASSWORD, register, unique_email, verified_account


def assert_error(response: object, status: int, code: str) -> None:
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    error = response.json()["error"]  # type: ignore[attr-defined]
    assert error["code"] == code
    assert error["message"] and error["request_id"]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"email": "not-an-email", "password": PASSWORD}, "invalid_input"),
        ({"email": "a@example.com", "password": "short"}, "invalid_input"),
        ({"email": "a@example.com", "password": 12345678}, "invalid_input"),
        ({"email": "a@example.com", "password": PASSWORD, "role": "admin"}, "invalid_input"),
        ({"email": "a@example.com", "password": PASSWORD, "is_admin": True}, "invalid_input"),
        ({"password": PASSWORD}, "invalid_input"),
        ([], "invalid_input"),
    ],
)
def test_invalid_registration_is_422(client: TestClient, body: object, code: str) -> None:
    assert_error(client.post("/v1/auth/register", json=body), 422, code)


def test_malformed_json_is_400(client: TestClient) -> None:
    response = client.post(
        "/v1/auth/register", content=b'{"email": ', headers={"content-type": "application/json"}
    )
    assert_error(response, 400, "malformed_json")


def test_oversized_body_is_413_and_stores_nothing(client: TestClient) -> None:
    address = unique_email()
    body = b'{"email": "%s", "password": "%s"}' % (address.encode(), b"x" * 2_000_000)
    response = client.post(
        "/v1/auth/register", content=body, headers={"content-type": "application/json"}
    )
    assert_error(response, 413, "payload_too_large")
    login = client.post("/v1/auth/login", json={"email": address, "password": "x" * 20})
    assert login.status_code == 401


def test_oversized_chunked_body_is_413(client: TestClient) -> None:
    chunks = (b"x" * 65536 for _ in range(40))  # no content-length: counted as it arrives
    response = client.post(
        "/v1/auth/register", content=chunks, headers={"content-type": "application/json"}
    )
    assert_error(response, 413, "payload_too_large")


def test_validation_errors_never_echo_the_password(client: TestClient) -> None:
    response = client.post(
        "/v1/auth/register", json={"email": "bad", "password": "s3cret-pass-word"}
    )
    assert "s3cret-pass-word" not in response.text


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/v1/auth/me"), ("GET", "/v1/auth/api-keys"), ("POST", "/v1/auth/logout")],
)
def test_missing_credentials_are_401(client: TestClient, method: str, path: str) -> None:
    assert_error(client.request(method, path), 401, "missing_credentials")


@pytest.mark.parametrize("token", ["garbage", "eyJhbGciOiJIUzI1NiJ9.e30.x", "aimpk_short"])
def test_bad_tokens_are_401(client: TestClient, token: str) -> None:
    response = client.get("/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_unknown_key_id_and_bad_uuid(client: TestClient, outbox: Path) -> None:
    account = verified_account(client, outbox)
    assert_error(
        client.delete(
            "/v1/auth/api-keys/00000000-0000-0000-0000-000000000000", headers=account.headers
        ),
        404,
        "not_found",
    )
    assert_error(
        client.delete("/v1/auth/api-keys/not-a-uuid", headers=account.headers), 422, "invalid_input"
    )


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"name": "k", "scopes": ["root"]}, 422, "unknown_scope"),
        ({"name": "k", "scopes": []}, 422, "invalid_input"),
        ({"name": "", "scopes": ["inference"]}, 422, "invalid_input"),
        (
            {"name": "k", "scopes": ["inference"], "expires_at": "2001-01-01T00:00:00Z"},
            422,
            "invalid_expiry",
        ),
        (
            {"name": "k", "scopes": ["inference"], "expires_at": "2099-01-01T00:00:00"},
            422,
            "invalid_input",
        ),
    ],
)
def test_invalid_api_key_requests(
    client: TestClient, outbox: Path, body: dict[str, object], status: int, code: str
) -> None:
    account = verified_account(client, outbox)
    assert_error(client.post("/v1/auth/api-keys", json=body, headers=account.headers), status, code)


def test_unknown_route_and_wrong_method(client: TestClient) -> None:
    assert_error(client.get("/v1/no-such-thing"), 404, "not_found")
    assert_error(client.get("/v1/auth/login"), 405, "method_not_allowed")


def test_bad_verification_token_is_401(client: TestClient) -> None:
    assert_error(client.post("/v1/auth/verify-email", json={"token": "nope"}), 401, "invalid_token")


def test_too_many_logins_are_429_with_retry_after(client: TestClient) -> None:
    address = register(client)
    statuses = [
        client.post("/v1/auth/login", json={"email": address, "password": "wrong-pw"})
        for _ in range(11)
    ]
    assert [r.status_code for r in statuses[:10]] == [401] * 10
    assert_error(statuses[10], 429, "rate_limited")
    assert int(statuses[10].headers["retry-after"]) > 0


def test_request_id_is_kept_when_sane_and_replaced_when_not(client: TestClient) -> None:
    kept = client.get("/v1/health", headers={"X-Request-ID": "abc-123"})
    assert kept.headers["x-request-id"] == "abc-123"
    replaced = client.get("/v1/health", headers={"X-Request-ID": "bad id\twith spaces"})
    assert replaced.headers["x-request-id"] != "bad id\twith spaces"
    assert len(replaced.headers["x-request-id"]) == 32


def test_logs_are_json_lines_without_secrets(
    client: TestClient, outbox: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="aimarket")
    account = verified_account(client, outbox)
    key = client.post(
        "/v1/auth/api-keys", json={"name": "k", "scopes": ["inference"]}, headers=account.headers
    ).json()["key"]
    client.get("/v1/auth/me", headers={"X-API-Key": key})
    from infra.logs import JsonFormatter

    lines = [JsonFormatter().format(r) for r in caplog.records]
    access = [line for line in lines if '"route"' in line]
    assert any('"/v1/auth/me"' in line and '"status": 200' in line for line in access)
    assert all('"request_id"' in line and '"latency_ms"' in line for line in access)
    for secret in (PASSWORD, key, account.access_token, account.refresh_token):
        assert all(secret not in line for line in lines)
