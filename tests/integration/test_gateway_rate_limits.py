"""The gateway's rate limits over HTTP, on both profiles (in process; Redis in the
cluster): route classes, the RateLimit headers, 429 with Retry-After, who is counted."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from infra.bootstrap import Container, build_container
from infra.http.app import create_app
from infra.settings import Settings
from infra.settings_gateway import RouteClass
from tests.support import PASSWORD, MovableClock, StoppedClock, refusals, register

BURST = 5
TIGHT = {
    "rate_limit_reads": RouteClass(capacity=BURST, per_minute=3, fail_open=True),
    "rate_limit_auth": RouteClass(capacity=3, per_minute=3, fail_open=False),
}


def limited_settings(request: pytest.FixtureRequest, profile: str, tmp_path: Path) -> Settings:
    """The profile's settings with small route classes, and buckets of this test's own."""
    tight: dict[str, Any] = {**TIGHT, "rate_limit_prefix": f"rl_{uuid.uuid4().hex[:8]}:"}
    if profile == "cluster":
        cluster: Settings = request.getfixturevalue("cluster_settings")
        return cluster.model_copy(update=tight)
    return Settings(
        profile="embedded", data_dir=tmp_path, argon2_time_cost=1, argon2_memory_kib=8, **tight
    )


@pytest.fixture
def clock() -> MovableClock:
    """Stopped: the headers' seconds are exact only if no time passes between requests."""
    return StoppedClock()


@pytest.fixture
def limited(
    request: pytest.FixtureRequest, profile: str, tmp_path: Path, clock: MovableClock
) -> Iterator[Container]:
    built = build_container(limited_settings(request, profile, tmp_path), clock=clock)
    yield built
    built.close()


@pytest.fixture
def api(limited: Container) -> Iterator[TestClient]:
    with TestClient(create_app(limited), raise_server_exceptions=False) as client:
        yield client


def test_a_concurrent_burst_gets_exactly_the_bucket_size(api: TestClient) -> None:
    before = refusals("reads")
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda _: api.get("/v1/models"), range(4 * BURST)))
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200] * BURST + [429] * (3 * BURST)
    refused = next(a for a in answers if a.status_code == 429)
    assert refused.json()["error"]["code"] == "rate_limited"
    assert refused.json()["error"]["request_id"] == refused.headers["x-request-id"]
    assert int(refused.headers["retry-after"]) == 20  # a token every 20 s
    assert refused.headers["ratelimit-limit"] == str(BURST)
    assert refused.headers["ratelimit-remaining"] == "0"
    assert refusals("reads") - before == 3 * BURST


def test_headers_count_down_and_the_bucket_refills_as_time_passes(
    api: TestClient, clock: MovableClock
) -> None:
    answers = [api.get("/v1/models") for _ in range(BURST)]
    assert all(a.status_code == 200 for a in answers)
    assert [a.headers["ratelimit-limit"] for a in answers] == [str(BURST)] * BURST
    assert [int(a.headers["ratelimit-remaining"]) for a in answers] == [4, 3, 2, 1, 0]
    assert [int(a.headers["ratelimit-reset"]) for a in answers] == [20, 40, 60, 80, 100]
    assert api.get("/v1/models").status_code == 429
    clock.advance(20)
    again = api.get("/v1/models")
    assert again.status_code == 200
    assert again.headers["ratelimit-remaining"] == "0"
    assert api.get("/v1/models").status_code == 429


def test_health_and_readiness_are_never_counted(api: TestClient) -> None:
    for _ in range(2 * BURST):
        assert api.get("/v1/health").status_code == 200
    assert api.get("/v1/models").headers["ratelimit-remaining"] == str(BURST - 1)


def test_a_user_is_counted_by_their_token_and_strangers_by_their_address(
    limited: Container,
) -> None:
    app = create_app(limited)
    with (
        TestClient(app, client=("203.0.113.7", 4000), raise_server_exceptions=False) as near,
        TestClient(app, client=("203.0.113.7", 4001), raise_server_exceptions=False) as same_ip,
    ):
        address = register(near)
        tokens = limited.auth.login(address, PASSWORD, None)  # not through the gateway
        user = {"Authorization": f"Bearer {tokens.access_token}"}
        for _ in range(BURST):
            assert near.get("/v1/models", headers=user).status_code == 200
        assert near.get("/v1/models", headers=user).status_code == 429
        # The same address without the token has a bucket of its own, and the reverse.
        assert same_ip.get("/v1/models").status_code == 200
        for _ in range(BURST):
            same_ip.get("/v1/models")
        assert same_ip.get("/v1/models").status_code == 429
        assert near.get("/v1/auth/me", headers=user).status_code == 429


def test_a_burst_with_one_api_key_gets_exactly_the_bucket_size(
    api: TestClient, limited: Container
) -> None:
    address = register(api)
    tokens = limited.auth.login(address, PASSWORD, None)  # not through the gateway
    key = limited.api_keys.create(
        limited.auth.authenticate_access(tokens.access_token), "burst", ["inference"], None
    ).key
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(
            pool.map(lambda _: api.get("/v1/models", headers={"X-API-Key": key}), range(20))
        )
    assert sorted(a.status_code for a in answers) == [200] * BURST + [429] * (20 - BURST)


def test_made_up_api_keys_are_held_by_the_address_before_authentication(
    api: TestClient,
) -> None:
    statuses = []
    for _ in range(2 * BURST):
        made_up = "aimpk_" + uuid.uuid4().hex[:32]
        statuses.append(api.get("/v1/auth/me", headers={"X-API-Key": made_up}).status_code)
    # Each key is new, so its own bucket is full: the address's bucket stops the flood,
    # and a refused call never reaches the key lookup (401 there, 429 here).
    assert statuses == [401] * BURST + [429] * BURST


def test_the_auth_class_is_strict_per_address(api: TestClient) -> None:
    for _ in range(3):
        register(api)
    refused = api.post(
        "/v1/auth/register",
        json={"email": f"x-{uuid.uuid4().hex[:8]}@example.com", "password": "p" * 12},
    )
    assert refused.status_code == 429
    assert refused.headers["ratelimit-limit"] == "3"
    assert int(refused.headers["retry-after"]) == 20


def test_the_sign_in_page_is_held_to_the_auth_class(api: TestClient) -> None:
    """Guesses through the web page's form meet the same bucket as /v1/auth/login."""
    tried = [api.post("/login", data={"email": "a@example.com", "password": "guess"})
             for _ in range(4)]  # fmt: skip
    # the first three reach the page, which refuses a form without its CSRF token
    assert [t.status_code for t in tried] == [403, 403, 403, 429]
    assert tried[3].headers["ratelimit-limit"] == "3"


@pytest.fixture
def redis_down(tmp_path: Path, clock: MovableClock) -> Iterator[TestClient]:
    """Rate limits on a Redis that cannot be reached (a closed port; the shared one runs on)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = Settings(
        profile="embedded",
        data_dir=tmp_path,
        argon2_time_cost=1,
        argon2_memory_kib=8,
        rate_limits="redis",
        redis_url=f"redis://127.0.0.1:{port}/0",
        rate_limit_timeout_s=0.2,
    )
    built = build_container(settings, clock=clock)
    with TestClient(create_app(built), raise_server_exceptions=False) as client:
        yield client
    built.close()


def test_without_redis_reads_and_writes_go_on_and_auth_is_refused(redis_down: TestClient) -> None:
    read = redis_down.get("/v1/models")
    assert read.status_code == 200
    assert "ratelimit-limit" not in read.headers  # nothing was counted
    write = redis_down.post("/v1/models", json={"slug": "x", "name": "x"})
    assert write.status_code == 401  # through to authentication: the writes class fails open
    for path, body in [
        ("/v1/auth/register", {"email": "a@example.com", "password": "p" * 12}),
        ("/v1/auth/login", {"email": "a@example.com", "password": "p" * 12}),
    ]:
        refused = redis_down.post(path, json=body)
        assert refused.status_code == 503
        assert refused.json()["error"]["code"] == "rate_limiter_unavailable"
        assert refused.headers["retry-after"] == "1"
