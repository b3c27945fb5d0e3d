"""What the sync and the async transport share: credentials, the read-your-writes
position, how a call becomes an httpx request, and when a failed one is sent again."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from aimarket_client._version import __version__
from aimarket_client.calls import Call
from aimarket_client.errors import AimarketError, APIError

USER_AGENT = f"aimarket-client/{__version__}"
TokensSaved = Callable[[str, str], None]
AGAIN, REFRESH = "again", "refresh"
Move = str | float  # AGAIN, REFRESH, or seconds to wait


@dataclass
class Credentials:
    """An API key, or a person's access token with the refresh token that renews it."""

    api_key: str | None = None
    access_token: str | None = None
    refresh_token: str | None = None
    on_refresh: TokensSaved | None = None  # e.g. the CLI writes the rotated pair to disk

    def headers(self) -> dict[str, str]:
        if self.api_key:
            return {"X-API-Key": self.api_key}
        if self.access_token:
            return {"Authorization": f"Bearer {self.access_token}"}
        return {}

    def can_refresh(self) -> bool:
        return bool(self.refresh_token) and not self.api_key

    def refreshed(self, body: dict[str, Any]) -> None:
        self.access_token, self.refresh_token = body["access_token"], body["refresh_token"]
        if self.on_refresh is not None:
            self.on_refresh(body["access_token"], body["refresh_token"])


@dataclass
class Session:
    """One client's state. `position` is the highest event position a command answered;
    reads send it as `wait_for`, so a client always sees its own writes."""

    credentials: Credentials = field(default_factory=Credentials)
    max_retries: int = 3
    max_retry_wait_s: float = 30.0
    read_your_writes: bool = True
    position: int = 0

    def request(self, call: Call) -> dict[str, Any]:
        """The keyword arguments of httpx's `request` for `call`."""
        params = dict(call.params or {})
        if call.method == "GET" and self.read_your_writes and self.position:
            params["wait_for"] = max(self.position, int(params.get("wait_for", 0)))
        own = self.credentials.headers() if call.authenticated else {}
        headers = {**own, **(call.headers or {})}
        kwargs: dict[str, Any] = {"params": params or None, "headers": headers}
        if call.content is not None:
            kwargs["content"] = call.content
        elif call.json is not None:
            kwargs["json"] = call.json
        return kwargs

    def answered(self, response: httpx.Response) -> Any:
        """The body of a successful answer; its event position is remembered."""
        found = response.headers.get("x-event-position")
        body = response.json() if response.content else None
        if found is None and isinstance(body, dict) and isinstance(body.get("position"), int):
            found = body["position"]
        if found is not None:
            self.position = max(self.position, int(found))
        return body

    def after_failure(
        self, call: Call, error: AimarketError, attempt: int, refreshed: bool
    ) -> Move | None:
        """What a transport does after `call` failed with `error`: AGAIN at once, REFRESH
        the access token and then again, wait that many seconds and then again (the
        `attempt`-th retry), or None: give up and raise `error`."""
        if isinstance(error, APIError):
            if self.forgot_position(error):
                return AGAIN
            if self.should_refresh(error, refreshed):
                return REFRESH
        return self.wait_before_retry(call, attempt, error)

    def wait_before_retry(self, call: Call, attempt: int, error: Exception) -> float | None:
        """Seconds to wait before sending `call` again after `error`, or None: give up."""
        if attempt >= self.max_retries:
            return None
        if isinstance(error, APIError):
            if not error.retriable:
                return None
            wait = error.retry_after if error.retry_after is not None else backoff(attempt)
            return wait if wait <= self.max_retry_wait_s else None
        return backoff(attempt) if call.safe_to_repeat else None

    def forgot_position(self, error: APIError) -> bool:
        """A position the server has not reached (it was reset, or it is another server
        than the one that answered it) is dropped, and the read sent again without it."""
        if error.code != "position_beyond_head" or not self.position:
            return False
        self.position = 0
        return True

    def should_refresh(self, error: APIError, refreshed: bool) -> bool:
        return error.status == 401 and not refreshed and self.credentials.can_refresh()


def backoff(attempt: int, base_s: float = 0.25, cap_s: float = 8.0) -> float:
    """Exponential with full jitter, so that many clients do not come back at once."""
    return random.uniform(0, min(cap_s, base_s * 2**attempt))


def refresh_call(credentials: Credentials) -> Call:
    return Call(
        "POST",
        "/v1/auth/refresh",
        json={"refresh_token": credentials.refresh_token},
        authenticated=False,
    )
