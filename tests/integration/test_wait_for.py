"""`wait_for` (read-your-writes) comes after authentication, refuses a position no event
has, is bounded per caller and never holds one of the server's threads while it waits.

No assertion here reads a stopwatch: "at once" shows as the answer a wait could not give
(a wait run first would answer 422 or, after its timeout, 503), and "holds no thread" as a
`def` route answering while every wait is still pending."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from domain.user import Role
from infra.bootstrap import Container
from infra.http.app import create_app
from queries.progress import WAITS_PER_CALLER, ReadYourWrites
from tests.serving import serving
from tests.support import Account, login, register

HUGE = 999_999_999


def head(container: Container) -> int:
    return container.app.recorder.max_notification_id() or 0


def own_wait(client: TestClient) -> TestClient:
    """The client, sending the test's own `wait_for` rather than the newest position."""
    client.position = 0  # type: ignore[attr-defined]
    return client


@pytest.mark.parametrize(
    "path", ["/v1/admin/users", "/v1/auth/me", "/v1/auth/api-keys", "/v1/access-requests"]
)
def test_an_unauthenticated_wait_is_401_at_once(client: TestClient, path: str) -> None:
    response = own_wait(client).get(path, params={"wait_for": HUGE})
    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"] == "missing_credentials"


def test_a_wait_on_a_route_the_caller_may_not_use_is_403_at_once(client: TestClient) -> None:
    consumer = login(client, register(client))
    response = own_wait(client).get(
        "/v1/admin/users", params={"wait_for": HUGE}, headers=consumer.headers
    )
    assert response.status_code == 403, response.text


def test_a_position_beyond_the_log_head_is_422_at_once(
    client: TestClient, container: Container
) -> None:
    account = login(client, register(client))
    beyond = head(container) + 1000
    for path in ("/v1/auth/me", "/v1/models", "/v1/auth/api-keys"):
        response = own_wait(client).get(path, params={"wait_for": beyond}, headers=account.headers)
        assert response.status_code == 422, response.text
        assert response.json()["error"]["code"] == "position_beyond_head"


def test_a_reached_position_answers_with_the_write_in_it(client: TestClient) -> None:
    address = register(client)
    account = login(client, address)
    renamed = client.patch(
        "/v1/auth/me", json={"display_name": "Waited For"}, headers=account.headers
    )
    assert renamed.status_code in (200, 204), renamed.text
    position = int(renamed.headers.get("x-event-position") or renamed.json()["position"])
    me = own_wait(client).get("/v1/auth/me", params={"wait_for": position}, headers=account.headers)
    assert me.status_code == 200, me.text
    assert me.json()["display_name"] == "Waited For"


@pytest.fixture
def paused(container: Container, client: TestClient) -> Iterator[list[Account]]:
    """Ten logged-in callers, then the embedded projections stopped and one more write:
    the log's head is a position the read models have not reached."""
    callers = [login(client, register(client)) for _ in range(10)]
    runner = container.read.runner
    assert runner is not None
    runner.stop()
    register(client)
    yield callers
    runner.run_until_idle()


async def _wait(http: httpx.AsyncClient, caller: Account, position: int) -> httpx.Response:
    params = {"wait_for": position}
    return await http.get("/v1/auth/me", params=params, headers=caller.headers)


async def _pending_waits_and_health(
    app: FastAPI, base: str, container: Container, callers: list[Account]
) -> dict[str, Any]:
    position = head(container)
    waiting: ReadYourWrites = app.state.container.read_your_writes
    limits = httpx.Limits(max_connections=200)
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as http:
        waits = [
            asyncio.create_task(_wait(http, caller, position))
            for caller in callers
            for _ in range(WAITS_PER_CALLER)
        ]
        deadline = time.monotonic() + 5
        while waiting.pending() < len(waits) and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        one_more = await _wait(http, callers[0], position)
        # Plain `def` routes: each needs a free thread. Were the 40 waits holding the
        # pool's threads, these would hang until the client's timeout.
        health = await http.get("/v1/health", timeout=20)
        ready = await http.get("/v1/ready", timeout=20)
        pending = sum(not task.done() for task in waits)
        await asyncio.to_thread(_run_projections, container)
        answers = await asyncio.gather(*waits)
    return {
        "pending": pending,
        "one_more": one_more,
        "health": health,
        "ready": ready,
        "answers": answers,
    }


def _run_projections(container: Container) -> None:
    assert container.read.runner is not None
    container.read.runner.run_until_idle()


@pytest.mark.parametrize("profile", ["embedded"])  # its projections can be paused
def test_pending_waits_hold_no_thread_and_are_bounded_per_caller(
    container: Container, paused: list[Account]
) -> None:
    app = create_app(container)
    with serving(app) as base:
        seen = asyncio.run(_pending_waits_and_health(app, base, container, paused))
    assert seen["pending"] == 10 * WAITS_PER_CALLER == 40
    assert seen["health"].status_code == 200 and seen["ready"].status_code == 200
    assert seen["one_more"].status_code == 429, seen["one_more"].text
    assert seen["one_more"].json()["error"]["code"] == "rate_limited"
    assert int(seen["one_more"].headers["retry-after"]) >= 1
    assert [r.status_code for r in seen["answers"]] == [200] * 40


def test_an_admin_waits_for_their_own_write(client: TestClient, container: Container) -> None:
    address = register(client)
    user = container.account_commands.find_user_by_email(address)
    assert user is not None
    container.auth.change_role(user.id, Role.ADMIN)
    admin = login(client, address)
    listed = own_wait(client).get(
        "/v1/admin/users", params={"wait_for": head(container)}, headers=admin.headers
    )
    assert listed.status_code == 200, listed.text
