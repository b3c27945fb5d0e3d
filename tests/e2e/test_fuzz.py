"""schemathesis over the served `/openapi.json` of the embedded profile, as a consumer, a
publisher and an admin: every operation, valid and invalid input, then chains of calls
along the links schemathesis infers (an id a response gave, used by the next call).

Each answer must be no 5xx, and a status, a content type and a body that the document
declares. `AIMARKET_FUZZ_EXAMPLES` sets the examples per operation (`make fuzz`: 100).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Flaky
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from domain.user import Role
from infra.bootstrap import Container, build_container
from infra.http.app import create_app
from infra.settings import Settings
from infra.settings_gateway import RouteClass
from tests.support import PASSWORD, unique_email, verification_token

EXAMPLES = int(os.environ.get("AIMARKET_FUZZ_EXAMPLES", "20"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
ROLES = ("consumer", "publisher", "admin")
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    stateful_step_count=6,
    database=None,
)


class Accounts:
    """One account per role, logged in. A fuzzed call may log it out, or an admin may
    deactivate it (the links lead there): then it logs in again, or a new one is made."""

    def __init__(self, client: TestClient, container: Container, outbox: Path) -> None:
        self.client, self.container, self.outbox = client, container, outbox
        self.tokens: dict[str, str] = {}

    def headers(self, role: str) -> dict[str, str]:
        if role not in self.tokens:
            self.tokens[role] = self._new_session(role)
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def saw(self, role: str, response: Any) -> None:
        if response.status_code in (401, 403) and _code(response) in STALE_SESSION:
            self.tokens.pop(role, None)

    def _new_session(self, role: str) -> str:
        address = unique_email(f"fuzz-{role}")
        public_role = "publisher" if role == "publisher" else "consumer"
        registered = self.client.post(
            "/v1/auth/register",
            json={"email": address, "password": PASSWORD, "role": public_role},
        )
        assert registered.status_code == 201, registered.text
        token = verification_token(self.outbox, address)
        verified = self.client.post("/v1/auth/verify-email", json={"token": token})
        assert verified.status_code == 200, verified.text
        if role == "admin":  # as `aimarket users set-role EMAIL admin` does
            self.container.auth.change_role(UUID(registered.json()["id"]), Role.ADMIN)
        login = self.client.post("/v1/auth/login", json={"email": address, "password": PASSWORD})
        assert login.status_code == 200, login.text
        return str(login.json()["access_token"])


# A session a fuzzed call ended (logout, deactivation): the next call starts another one.
STALE_SESSION = {"invalid_token", "token_expired", "account_deactivated"}


def _code(response: Any) -> str:
    try:
        return str(response.json()["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return ""


WIDE = RouteClass(capacity=10**9, per_minute=10**12, fail_open=True)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FastAPI, Accounts]]:
    data = tmp_path_factory.mktemp("fuzz")
    # Every fuzzed call comes from one client address, and the harness logs its accounts in
    # again whenever a fuzzed logout ends their session: the per-address login limit
    # (tested on its own in test_account_hardening.py) would turn those into 429s.
    fuzz_settings = Settings(
        profile="embedded",
        argon2_time_cost=1,
        argon2_memory_kib=8,
        data_dir=data,
        login_attempts_per_client_per_minute=100_000,
        # The same for the gateway's buckets (tested in test_gateway_rate_limits.py).
        **{f"rate_limit_{name}": WIDE for name in ("auth", "reads", "writes", "inference")},
    )
    container = build_container(fuzz_settings)
    container.start_runner()
    api = create_app(container)
    with TestClient(api, raise_server_exceptions=False) as client:
        yield api, Accounts(client, container, data / "outbox")
    container.close()


@pytest.fixture(scope="module")
def accounts(app: tuple[FastAPI, Accounts]) -> Accounts:
    return app[1]


@pytest.fixture(scope="module")
def served_schema(app: tuple[FastAPI, Accounts]) -> Any:
    return schemathesis.openapi.from_asgi("/openapi.json", app[0])


def test_every_operation_answers_as_documented(served_schema: Any, accounts: Accounts) -> None:
    failures = []
    for result in served_schema.get_all_operations():
        operation = result.ok()
        try:
            fuzz_operation(operation, accounts)
        except (Exception, BaseExceptionGroup) as failure:  # all operations' reports at the end
            failures.append(f"{operation.method.upper()} {operation.path}: {describe(failure)}")
    assert not failures, "\n\n".join(failures)


def describe(failure: BaseException) -> str:
    """Hypothesis groups distinct failures: each one's own text, schemathesis's curl included."""
    if isinstance(failure, FailureGroup):
        return str(failure)  # schemathesis's own report: checks, response, curl
    if isinstance(failure, BaseExceptionGroup):
        return "\n".join(describe(inner) for inner in failure.exceptions)
    notes = "\n".join(getattr(failure, "__notes__", ()))  # the example, when the app raised
    return f"{type(failure).__name__}: {failure}\n{notes}".strip()


def fuzz_operation(operation: Any, accounts: Accounts) -> None:
    """Valid and invalid input, each example sent as each role."""
    cases = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )

    @given(case=cases)
    @FUZZ_SETTINGS
    def run(case: Any) -> None:
        for role in ROLES:
            response = case.call_and_validate(headers=accounts.headers(role), checks=CHECKS)
            accounts.saw(role, response)

    run()


@pytest.mark.parametrize("role", ROLES)
def test_chains_of_calls_answer_as_documented(
    served_schema: Any, accounts: Accounts, role: str
) -> None:
    seen: list[str] = []  # each failure as it happens: a replay may end in Flaky instead

    class Chains(served_schema.as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"headers": accounts.headers(role)}

        def call(self, case: Any, **kwargs: Any) -> Any:
            try:
                return case.call(**kwargs)
            except Exception as failure:
                seen.append(f"{case.method} {case.formatted_path}: {describe(failure)}")
                raise

        def after_call(self, response: Any, case: Any) -> None:
            accounts.saw(role, response)

        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            try:
                case.validate_response(response, checks=CHECKS, headers=kwargs.get("headers"))
            except (Exception, BaseExceptionGroup) as failure:
                seen.append(describe(failure))
                raise

    try:
        Chains.run(settings=FUZZ_SETTINGS)
    except Flaky:
        # The server's state moves on between hypothesis's replays of a chain, so a replay
        # may draw differently. schemathesis's own runner counts that as no failure
        # (engine/run/stateful/_executor.py, `_classify_flaky`); so do we, unless a check
        # failed on the way.
        assert not seen, "\n\n".join(dict.fromkeys(seen))
    except (Exception, BaseExceptionGroup) as failure:
        found = "\n\n".join(dict.fromkeys(seen)) or describe(failure)
        raise AssertionError(found) from failure


def test_a_session_ended_by_a_fuzzed_call_is_replaced(accounts: Accounts) -> None:
    """The fixture itself: after a logout the role gets a working session again."""
    headers = accounts.headers("consumer")
    assert accounts.client.post("/v1/auth/logout", headers=headers).status_code == 204
    accounts.saw("consumer", accounts.client.get("/v1/auth/me", headers=headers))
    again = accounts.client.get("/v1/auth/me", headers=accounts.headers("consumer"))
    assert again.status_code == 200, again.text
    assert isinstance(again, httpx.Response)
