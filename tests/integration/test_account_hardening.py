"""Hostile input on accounts, through HTTP on both profiles: admins acting on themselves,
look-alike emails, names with control characters, common passwords, login spraying."""

from __future__ import annotations

from collections.abc import Iterator
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from domain.user import Role
from infra.bootstrap import Container
from infra.http.app import create_app
from tests.support import PASSWORD, Account, login, refusals, register, unique_email


def admin_account(client: TestClient, container: Container) -> Account:
    address = register(client)
    user = container.account_commands.find_user_by_email(address)
    assert user is not None
    written = container.auth.change_role(user.id, Role.ADMIN)  # as `aimarket users set-role`
    client.position = max(client.position, written.position)  # type: ignore[attr-defined]
    return login(client, address)


def code(response: object) -> str:
    body = response.json()  # type: ignore[attr-defined]
    return str(body["error"]["code"])


# Admins (defect 4)


def test_an_admin_cannot_deactivate_or_demote_themselves(
    client: TestClient, container: Container
) -> None:
    admin = admin_account(client, container)
    own = f"/v1/admin/users/{admin.id}"
    deactivated = client.post(f"{own}/deactivate", headers=admin.headers)
    demoted = client.put(f"{own}/role", json={"role": "consumer"}, headers=admin.headers)
    assert (deactivated.status_code, code(deactivated)) == (403, "own_account")
    assert (demoted.status_code, code(demoted)) == (403, "own_account")
    assert client.get("/v1/auth/me", headers=admin.headers).json()["role"] == "admin"


def test_a_deactivated_account_is_reactivated_by_an_admin_and_every_step_names_them(
    client: TestClient, container: Container
) -> None:
    admin = admin_account(client, container)
    target = login(client, register(client))
    users = f"/v1/admin/users/{target.id}"
    assert client.post(f"{users}/reactivate", headers=target.headers).status_code == 403
    not_closed = client.post(f"{users}/reactivate", headers=admin.headers)
    assert (not_closed.status_code, code(not_closed)) == (409, "not_deactivated")

    assert client.put(f"{users}/role", json={"role": "publisher"}, headers=admin.headers).is_success
    assert client.post(f"{users}/deactivate", headers=admin.headers).status_code == 200
    closed = {"email": target.email, "password": PASSWORD}
    assert client.post("/v1/auth/login", json=closed).status_code == 401
    reopened = client.post(f"{users}/reactivate", headers=admin.headers)
    assert reopened.status_code == 200, reopened.text
    assert client.post("/v1/auth/login", json=closed).status_code == 200

    events = client.get(f"/v1/audit/aggregates/{target.id}/events", headers=admin.headers).json()
    acted = [(e["type"], e["data"].get("by")) for e in events["items"][1:]]
    assert acted == [
        ("User.RoleChanged", admin.id),
        ("User.Deactivated", admin.id),
        ("User.Reactivated", admin.id),
    ]
    state = client.get(f"/v1/audit/aggregates/{target.id}/state", headers=admin.headers).json()
    assert state["state"]["deactivated"] is False


def test_reactivate_asks_for_credentials_first(client: TestClient) -> None:
    missing = client.post(f"/v1/admin/users/{UUID(int=7)}/reactivate")
    assert missing.status_code == 401  # authentication first, then the account


# Account names (defect 5)


def test_a_fullwidth_email_is_the_same_account(client: TestClient) -> None:
    address = register(client)
    local, domain = address.split("@")
    fullwidth = "".join(chr(ord(c) + 0xFEE0) if c.isalnum() else c for c in local)
    assert fullwidth != local
    again = client.post(
        "/v1/auth/register", json={"email": f"{fullwidth}@{domain}", "password": PASSWORD}
    )
    assert (again.status_code, code(again)) == (409, "email_taken")
    by_fullwidth = client.post(
        "/v1/auth/login", json={"email": f"{fullwidth.upper()}@{domain}", "password": PASSWORD}
    )
    assert by_fullwidth.status_code == 200
    assert login(client, address).id == login(client, f"{fullwidth}@{domain}").id


@pytest.mark.parametrize(
    "name", ["Ada\x00", "Ada\x1b[31mLovelace", "Ada\u202eecalevoL", "Ada\u200b", "A\u2028B"]
)
def test_display_names_with_control_or_invisible_characters_are_refused(
    client: TestClient, name: str
) -> None:
    body = {"email": unique_email(), "password": PASSWORD, "display_name": name}
    refused = client.post("/v1/auth/register", json=body)
    assert (refused.status_code, code(refused)) == (422, "invalid_input")
    account = login(client, register(client))
    renamed = client.patch("/v1/auth/me", json={"display_name": name}, headers=account.headers)
    assert (renamed.status_code, code(renamed)) == (422, "invalid_input")
    too_long = client.patch("/v1/auth/me", json={"display_name": "x" * 61}, headers=account.headers)
    assert too_long.status_code == 422
    fine = client.patch(
        "/v1/auth/me", json={"display_name": "Ada Lovelace, Zoë 李"}, headers=account.headers
    )
    assert fine.status_code == 200


# Passwords (defect 6)


@pytest.mark.parametrize(
    ("password", "expected"),
    [
        ("password", "password_too_common"),
        ("12345678", "password_too_common"),
        ("PassWord", "password_too_common"),
        ("\uff50\uff41\uff53\uff53\uff57\uff4f\uff52\uff44", "password_too_common"),  # fullwidth
        ("iloveyou", "password_too_common"),
        ("        ", "password_blank"),
        ("\t\n  \u3000   ", "password_blank"),
    ],
)
def test_common_and_blank_passwords_are_refused_at_registration_and_change(
    client: TestClient, password: str, expected: str
) -> None:
    body = {"email": unique_email(), "password": password}
    refused = client.post("/v1/auth/register", json=body)
    assert (refused.status_code, code(refused)) == (422, expected)
    account = login(client, register(client))
    changed = client.put(
        "/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": password},
        headers=account.headers,
    )
    assert (changed.status_code, code(changed)) == (422, expected)


def test_passphrases_of_the_readme_and_the_tests_are_accepted(client: TestClient) -> None:
    for password in ("a long passphrase", PASSWORD):
        body = {"email": unique_email(), "password": password}
        assert client.post("/v1/auth/register", json=body).status_code == 201


# Login spraying (defect 7)


@pytest.fixture
def client_at(container: Container) -> Iterator[dict[str, TestClient]]:
    """Clients at two addresses, on one server."""
    app = create_app(container)
    with (
        TestClient(app, client=("203.0.113.5", 40000), raise_server_exceptions=False) as sprayer,
        TestClient(app, client=("198.51.100.9", 40001), raise_server_exceptions=False) as other,
    ):
        yield {"sprayer": sprayer, "other": other}


def test_one_client_spraying_many_emails_is_limited_by_its_address(
    client_at: dict[str, TestClient], container: Container
) -> None:
    per_client = container.settings.login_attempts_per_client_per_minute
    sprayer, other = client_at["sprayer"], client_at["other"]
    victim = register(other)
    verified = _counting_verifications(container)
    refused_before = refusals("auth")
    answers = []
    for attempt in range(3):
        for n in range(12):  # 12 emails, each well under its own limit
            body = {"email": f"spray-{n}-{victim}", "password": f"guess-{attempt}-abcd"}
            answers.append(sprayer.post("/v1/auth/login", json=body))
    statuses = [a.status_code for a in answers]
    assert statuses[:per_client] == [401] * per_client
    assert set(statuses[per_client:]) == {429}
    assert int(answers[-1].headers["Retry-After"]) >= 1
    assert code(answers[-1]) == "rate_limited"
    assert verified == [per_client]  # refused attempts never reach the password hash
    right = sprayer.post("/v1/auth/login", json={"email": victim, "password": PASSWORD})
    assert right.status_code == 429
    # The login command refused them, not the gateway's buckets: counted all the same, once.
    assert refusals("auth") - refused_before == len(statuses) - per_client + 1
    assert other.post("/v1/auth/login", json={"email": victim, "password": PASSWORD}).is_success


def _counting_verifications(container: Container) -> list[int]:
    """Counts password-hash verifications from now on (a spy on the real hasher)."""
    passwords, count = container.auth.passwords, [0]
    real = passwords.verify

    def verify(password_hash: str, password: str) -> bool:
        count[0] += 1
        return real(password_hash, password)

    passwords.verify = verify  # type: ignore[method-assign]
    return count
