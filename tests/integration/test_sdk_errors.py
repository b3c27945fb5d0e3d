"""The SDK's failures against a live server on both profiles: an exception per error
code (with `retry_after`, `details`, the request id), an expired access token renewed
once with the refresh token (the new pair handed back), and a server that is not there."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from aimarket_client import (
    AuthenticationError,
    Client,
    ConnectionFailed,
    InvalidInput,
    NotFound,
    RateLimited,
)
from fastapi.testclient import TestClient

from infra.bootstrap import Container
from infra.http.app import create_app
from tests.serving import free_port, serving
from tests.support import PASSWORD, MovableClock, verified_account


def test_refusals_are_exceptions_by_code_never_bare_http_errors(
    client: TestClient, container: Container, outbox: Path
) -> None:
    account = verified_account(client, outbox)
    with serving(create_app(container)) as base_url, Client(base_url, max_retries=0) as sdk:
        with pytest.raises(NotFound) as missing:
            sdk.models.show(str(uuid.uuid4()))
        assert (missing.value.status, missing.value.code) == (404, "model_not_found")
        assert missing.value.request_id
        with pytest.raises(InvalidInput) as refused:
            sdk.models.search(limit=1000)
        assert refused.value.code == "invalid_input" and refused.value.details
        refused_logins = 0
        with pytest.raises(RateLimited) as limited:  # 10 login attempts a minute per email
            while refused_logins <= 10:
                try:
                    sdk.login(account.email, "not the password")
                except AuthenticationError as wrong:
                    assert wrong.code == "invalid_credentials"
                    refused_logins += 1
        assert 0 < refused_logins <= 10 and limited.value.retry_after
        assert limited.value.retry_after > 0
        stranger = Client(base_url, api_key="aimpk_" + "0" * 32)
        with pytest.raises(AuthenticationError) as unknown:
            stranger.me()
        assert unknown.value.code == "invalid_api_key"


def test_an_expired_access_token_is_renewed_once_and_the_new_pair_handed_back(
    client: TestClient, container: Container, outbox: Path, clock: MovableClock
) -> None:
    account = verified_account(client, outbox)
    renewed: list[tuple[str, str]] = []
    with (
        serving(create_app(container)) as base_url,
        Client(base_url, on_refresh=lambda *pair: renewed.append(pair)) as sdk,
    ):
        clock.advance(-3600)  # the token is issued an hour ago: expired on arrival
        first = sdk.login(account.email, PASSWORD)
        clock.advance(3600)
        assert sdk.me().email == account.email
        assert sdk.me().email == account.email  # the renewed token: no second refresh
    assert len(renewed) == 1 and renewed[0][1] != first["refresh_token"]


def test_a_server_that_is_not_there_is_a_connection_failure() -> None:
    with (
        Client(f"http://127.0.0.1:{free_port()}", max_retries=1) as sdk,
        pytest.raises(ConnectionFailed),
    ):
        sdk.models.search()
