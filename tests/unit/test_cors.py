"""CORS: only the origins the settings name get CORS headers, preflights included; with
none named (the default) no response carries any."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from infra.bootstrap import build_container
from infra.http.app import create_app
from infra.settings import Settings

APP = "https://app.example.com"
PREFLIGHT = {"Access-Control-Request-Method": "POST",
             "Access-Control-Request-Headers": "authorization, content-type"}  # fmt: skip


def serve(tmp_path: Path, **settings: object) -> Iterator[TestClient]:
    built = build_container(
        Settings(profile="embedded", data_dir=tmp_path, argon2_time_cost=1,
                 argon2_memory_kib=8, **settings)  # type: ignore[arg-type]
    )  # fmt: skip
    try:
        with TestClient(create_app(built)) as client:
            yield client
    finally:
        built.close()


@pytest.fixture
def allowing(tmp_path: Path) -> Iterator[TestClient]:
    yield from serve(tmp_path, cors_allowed_origins=f"{APP}/, https://admin.example.com")


@pytest.fixture
def default(tmp_path: Path) -> Iterator[TestClient]:
    yield from serve(tmp_path)


def test_a_preflight_from_an_allowed_origin_is_answered(allowing: TestClient) -> None:
    answer = allowing.options("/v1/auth/login", headers={"Origin": APP, **PREFLIGHT})
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == APP
    assert "POST" in answer.headers["access-control-allow-methods"]
    allowed = answer.headers["access-control-allow-headers"].lower()
    assert "authorization" in allowed and "x-api-key" in allowed
    assert answer.headers["access-control-max-age"] == "600"


def test_a_preflight_from_another_origin_is_refused(allowing: TestClient) -> None:
    answer = allowing.options(
        "/v1/auth/login", headers={"Origin": "https://evil.example.net", **PREFLIGHT}
    )
    assert answer.status_code == 400
    assert "access-control-allow-origin" not in answer.headers


def test_a_simple_request_gets_the_origin_and_the_readable_headers(allowing: TestClient) -> None:
    answer = allowing.get("/v1/health", headers={"Origin": APP})
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == APP
    exposed = answer.headers["access-control-expose-headers"].lower()
    assert (
        "x-request-id" in exposed and "retry-after" in exposed and "ratelimit-remaining" in exposed
    )
    assert "access-control-allow-credentials" not in answer.headers  # off unless asked for
    other = allowing.get("/v1/health", headers={"Origin": "https://evil.example.net"})
    assert "access-control-allow-origin" not in other.headers


def test_no_origin_is_allowed_by_default(default: TestClient) -> None:
    simple = default.get("/v1/health", headers={"Origin": APP})
    assert simple.status_code == 200
    assert not [h for h in simple.headers if h.lower().startswith("access-control-")]
    preflight = default.options("/v1/auth/login", headers={"Origin": APP, **PREFLIGHT})
    assert preflight.status_code == 405
    assert "access-control-allow-origin" not in preflight.headers
