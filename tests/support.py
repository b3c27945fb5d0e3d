"""Helpers the HTTP tests share: a movable clock, account set-up through the API, and
the rate-limit refusals counted so far."""

from __future__ import annotations

import email
import email.policy
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY

PASSWORD = "correct horse battery"


class MovableClock:
    def __init__(self) -> None:
        self.offset = timedelta()

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


class StoppedClock(MovableClock):
    """Time stands still until advanced: for exact arithmetic on elapsed time, however
    slowly a busy machine runs the test."""

    def __init__(self) -> None:
        super().__init__()
        self.started = datetime.now(UTC)

    def now(self) -> datetime:
        return self.started + self.offset


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}@example.com"


def verification_token(outbox: Path, address: str) -> str:
    """The token from the newest verification email sent to `address`."""
    for path in sorted(outbox.glob("*.eml"), key=lambda p: p.stat().st_mtime, reverse=True):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if message["To"] == address:
            body = str(message.get_content())
            return next(line for line in body.splitlines() if line.startswith("eyJ"))
    raise AssertionError(f"no email to {address} in {outbox}")


@dataclass
class Account:
    id: str
    email: str
    access_token: str
    refresh_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


def register(client: TestClient, role: str = "consumer", address: str | None = None) -> str:
    address = address or unique_email(role)
    response = client.post(
        "/v1/auth/register", json={"email": address, "password": PASSWORD, "role": role}
    )
    assert response.status_code == 201, response.text
    return address


def login(client: TestClient, address: str, user_id: str = "") -> Account:
    response = client.post("/v1/auth/login", json={"email": address, "password": PASSWORD})
    assert response.status_code == 200, response.text
    body = response.json()
    if not user_id:
        me = client.get("/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
        assert me.status_code == 200, me.text
        user_id = me.json()["id"]
    return Account(user_id, address, body["access_token"], body["refresh_token"])


def verified_account(client: TestClient, outbox: Path, role: str = "consumer") -> Account:
    address = register(client, role)
    token = verification_token(outbox, address)
    assert client.post("/v1/auth/verify-email", json={"token": token}).status_code == 200
    return login(client, address)


def refusals(route_class: str) -> float:
    """`aimarket_rate_limit_refusals_total` of a route class in this process, so far."""
    value = REGISTRY.get_sample_value(
        "aimarket_rate_limit_refusals_total", {"route_class": route_class}
    )
    return value or 0.0


class ReadsOwnWrites:
    """Makes an httpx client read its own writes, as the SDK does: it remembers the highest
    event position any command answered with (body `position` or header
    `X-Event-Position`) and sends it as `wait_for` with every GET."""

    position = 0

    def request(self, method: str, url: Any, *args: Any, **kwargs: Any) -> Any:
        if method.upper() == "GET" and self.position:
            # Into `params` when given: httpx drops the URL's own query when `params` is set.
            # A `wait_for` the caller gave is kept when it is further on than ours.
            params = kwargs.get("params")
            if params is not None:
                query = httpx.QueryParams(params)
                kwargs["params"] = query.merge({"wait_for": self._further(query)})
            else:
                url = httpx.URL(str(url))
                url = url.copy_merge_params({"wait_for": self._further(url.params)})
        response = super().request(method, url, *args, **kwargs)  # type: ignore[misc]
        found = response.headers.get("x-event-position")
        if found is None and response.headers.get("content-type") == "application/json":
            body = response.json()
            found = body.get("position") if isinstance(body, dict) else None
        if found is not None:
            self.position = max(self.position, int(found))
        return response

    def _further(self, query: httpx.QueryParams) -> str:
        given = query.get("wait_for")
        if given is None:
            return str(self.position)
        return str(max(self.position, int(given))) if given.isdigit() else given


class ConsistentClient(ReadsOwnWrites, TestClient):
    """The app in process, reading its own writes."""


class ConsistentHttp(ReadsOwnWrites, httpx.Client):
    """A served app over HTTP, reading its own writes."""
