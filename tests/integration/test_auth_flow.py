"""The account flow end to end through HTTP, on the embedded (SQLite) and the
cluster (PostgreSQL) event store: register, verify, login, refresh, logout, keys, audit."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated
from uuid import UUID, uuid4

from fastapi import Depends
from fastapi.testclient import TestClient

from commands.secrets import new_refresh_token
from domain.api_key import ApiKey
from domain.principal import Principal
from domain.user import Role
from infra.bootstrap import Container
from infra.http.deps import require_role, require_scope
from tests.support import (
    PASSWORD,
    MovableClock,
    login,
    register,
    unique_email,
    verification_token,
    verified_account,
)


def test_register_verify_login_me(client: TestClient, outbox: Path) -> None:
    address = register(client, "publisher")
    account = login(client, address)
    me = client.get("/v1/auth/me", headers=account.headers).json()
    assert (me["email"], me["role"], me["verified"]) == (address, "publisher", False)

    token = verification_token(outbox, address)
    verified = client.post("/v1/auth/verify-email", json={"token": token})
    assert verified.status_code == 200
    assert verified.json()["position"] > 0
    assert client.get("/v1/auth/me", headers=account.headers).json()["verified"] is True


def test_email_is_unique_whatever_its_capitalisation(client: TestClient) -> None:
    address = register(client)
    again = client.post("/v1/auth/register", json={"email": address.upper(), "password": PASSWORD})
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "email_taken"


def test_login_does_not_reveal_whether_an_email_exists(client: TestClient) -> None:
    address = register(client)
    wrong_password = client.post("/v1/auth/login", json={"email": address, "password": "nope-nope"})
    no_account = client.post(
        "/v1/auth/login", json={"email": "nobody-" + address, "password": "nope-nope"}
    )
    assert wrong_password.status_code == no_account.status_code == 401
    assert wrong_password.json()["error"]["code"] == no_account.json()["error"]["code"]
    assert wrong_password.json()["error"]["message"] == no_account.json()["error"]["message"]


def test_refresh_rotates_and_reuse_revokes_the_whole_family(client: TestClient) -> None:
    account = login(client, register(client))
    first = client.post("/v1/auth/refresh", json={"refresh_token": account.refresh_token})
    assert first.status_code == 200
    rotated = first.json()
    assert rotated["refresh_token"] != account.refresh_token

    reused = client.post("/v1/auth/refresh", json={"refresh_token": account.refresh_token})
    assert reused.status_code == 401
    assert reused.json()["error"]["code"] == "refresh_token_reused"
    # The thief's replay ended the family: the rotated token and both access tokens die too.
    after = client.post("/v1/auth/refresh", json={"refresh_token": rotated["refresh_token"]})
    assert after.status_code == 401
    for access in (account.access_token, rotated["access_token"]):
        denied = client.get("/v1/auth/me", headers={"Authorization": f"Bearer {access}"})
        assert denied.status_code == 401


def test_logout_ends_refresh_and_denies_the_access_token(client: TestClient) -> None:
    account = login(client, register(client))
    assert client.post("/v1/auth/logout", headers=account.headers).status_code == 204
    assert client.get("/v1/auth/me", headers=account.headers).status_code == 401
    refreshed = client.post("/v1/auth/refresh", json={"refresh_token": account.refresh_token})
    assert refreshed.status_code == 401
    other_session = login(client, account.email)
    assert client.get("/v1/auth/me", headers=other_session.headers).status_code == 200


def test_expired_access_token_is_refused(client: TestClient, clock: MovableClock) -> None:
    address = register(client)
    clock.advance(-3600)  # tokens issued an hour ago have expired by now
    stale = login(client, address, user_id="-")
    clock.advance(3600)
    response = client.get("/v1/auth/me", headers=stale.headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "token_expired"


def test_api_key_needs_a_verified_email(client: TestClient) -> None:
    account = login(client, register(client))
    response = client.post(
        "/v1/auth/api-keys", json={"name": "ci", "scopes": ["inference"]}, headers=account.headers
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "email_not_verified"


def test_api_key_create_use_list_rotate_revoke(
    client: TestClient, outbox: Path, container: Container
) -> None:
    account = verified_account(client, outbox, "publisher")
    created = client.post(
        "/v1/auth/api-keys",
        json={"name": "ci", "scopes": ["inference", "models:write"]},
        headers=account.headers,
    )
    assert created.status_code == 201
    key = created.json()
    assert key["key"].startswith("aimpk_") and len(key["key"]) == 38
    assert key["prefix"] == key["key"][:10]

    for headers in ({"X-API-Key": key["key"]}, {"Authorization": f"Bearer {key['key']}"}):
        me = client.get("/v1/auth/me", headers=headers)
        assert me.status_code == 200 and me.json()["id"] == account.id

    listed = client.get("/v1/auth/api-keys", headers=account.headers).json()["items"]
    assert [k["id"] for k in listed] == [key["id"]]
    assert "key" not in listed[0] and "last_used_at" in listed[0]
    # Use is recorded on the key itself (a query returns no position to wait for).
    assert container.app.load(ApiKey, UUID(key["id"])).last_used_at is not None

    rotated = client.post(f"/v1/auth/api-keys/{key['id']}/rotate", headers=account.headers)
    assert rotated.status_code == 201
    new_key = rotated.json()
    assert new_key["scopes"] == ["inference", "models:write"] and new_key["key"] != key["key"]
    assert client.get("/v1/auth/me", headers={"X-API-Key": key["key"]}).status_code == 401
    assert client.get("/v1/auth/me", headers={"X-API-Key": new_key["key"]}).status_code == 200

    revoked = client.delete(f"/v1/auth/api-keys/{new_key['id']}", headers=account.headers)
    assert revoked.status_code == 204
    refused = client.get("/v1/auth/me", headers={"X-API-Key": new_key["key"]})
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "invalid_api_key"
    assert client.get("/v1/auth/api-keys", headers=account.headers).json()["items"] == []


def test_consumer_may_not_hold_models_write(client: TestClient, outbox: Path) -> None:
    account = verified_account(client, outbox, "consumer")
    response = client.post(
        "/v1/auth/api-keys", json={"name": "x", "scopes": ["models:write"]}, headers=account.headers
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "scope_not_allowed"


def test_another_users_key_is_not_found(client: TestClient, outbox: Path) -> None:
    owner = verified_account(client, outbox)
    stranger = verified_account(client, outbox)
    key = client.post(
        "/v1/auth/api-keys", json={"name": "mine", "scopes": ["inference"]}, headers=owner.headers
    ).json()
    for method, path in (
        ("DELETE", f"/v1/auth/api-keys/{key['id']}"),
        ("POST", f"/v1/auth/api-keys/{key['id']}/rotate"),
    ):
        response = client.request(method, path, headers=stranger.headers)
        assert response.status_code == 404
        assert key["name"] not in response.text
    assert client.get("/v1/auth/me", headers={"X-API-Key": key["key"]}).status_code == 200


def test_api_key_is_not_accepted_where_a_person_must_log_in(
    client: TestClient, outbox: Path
) -> None:
    account = verified_account(client, outbox)
    key = client.post(
        "/v1/auth/api-keys", json={"name": "k", "scopes": ["inference"]}, headers=account.headers
    ).json()["key"]
    response = client.post(
        "/v1/auth/api-keys",
        json={"name": "k2", "scopes": ["inference"]},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "api_key_not_accepted"


def test_admin_changes_roles_and_reads_history_at_any_version(
    client: TestClient, container: Container
) -> None:
    admin_email = register(client)
    target = login(client, register(client))
    admin = login(client, admin_email)
    assert (
        client.put(
            f"/v1/admin/users/{target.id}/role", json={"role": "publisher"}, headers=admin.headers
        ).status_code
        == 403
    )
    admin_user = container.account_commands.find_user_by_email(admin_email)
    assert admin_user is not None
    container.auth.change_role(admin_user.id, Role.ADMIN)  # as `aimarket users set-role` does

    changed = client.put(
        f"/v1/admin/users/{target.id}/role", json={"role": "publisher"}, headers=admin.headers
    )
    assert changed.status_code == 200
    assert client.get("/v1/auth/me", headers=target.headers).json()["role"] == "publisher"

    events = client.get(f"/v1/audit/aggregates/{target.id}/events", headers=admin.headers).json()
    assert [e["type"] for e in events["items"]] == ["User.Registered", "User.RoleChanged"]
    assert events["items"][0]["data"]["password_hash"] == "[redacted]"
    assert PASSWORD not in str(events)

    then = client.get(f"/v1/audit/aggregates/{target.id}/state?version=1", headers=admin.headers)
    now = client.get(f"/v1/audit/aggregates/{target.id}/state", headers=admin.headers)
    assert (then.json()["version"], then.json()["state"]["role"]) == (1, "consumer")
    assert (now.json()["version"], now.json()["state"]["role"]) == (2, "publisher")
    beyond = client.get(f"/v1/audit/aggregates/{target.id}/state?version=9", headers=admin.headers)
    assert beyond.status_code == 404
    assert (
        client.get(f"/v1/audit/aggregates/{target.id}/events", headers=target.headers).status_code
        == 403
    )


def test_deactivated_account_cannot_log_in_or_use_its_keys(
    client: TestClient, container: Container, outbox: Path
) -> None:
    account = verified_account(client, outbox)
    key = client.post(
        "/v1/auth/api-keys", json={"name": "k", "scopes": ["inference"]}, headers=account.headers
    ).json()["key"]
    container.auth.deactivate(UUID(account.id))
    assert client.get("/v1/auth/me", headers={"X-API-Key": key}).status_code == 401
    assert client.get("/v1/auth/me", headers=account.headers).status_code == 403
    login_again = client.post("/v1/auth/login", json={"email": account.email, "password": PASSWORD})
    assert login_again.status_code == 401


def test_scope_and_role_guards_on_a_route(client: TestClient, outbox: Path) -> None:
    """`require_scope` and `require_role` as later routes will use them."""
    app = client.app

    @app.get("/test/needs-inference")  # type: ignore[attr-defined, untyped-decorator]
    async def needs_inference(
        principal: Annotated[Principal, Depends(require_scope("inference"))],
    ) -> dict[str, str]:
        return {"via": principal.via}

    @app.get("/test/publishers-only")  # type: ignore[attr-defined, untyped-decorator]
    def publishers_only(
        principal: Annotated[Principal, Depends(require_role("publisher", "admin"))],
    ) -> dict[str, str]:
        return {"role": principal.role}

    account = verified_account(client, outbox, "consumer")
    keys = {
        scope: client.post(
            "/v1/auth/api-keys", json={"name": scope, "scopes": [scope]}, headers=account.headers
        ).json()["key"]
        for scope in ("inference", "billing:read")
    }
    allowed = client.get("/test/needs-inference", headers={"X-API-Key": keys["inference"]})
    assert allowed.status_code == 200 and allowed.json() == {"via": "api_key"}
    refused = client.get("/test/needs-inference", headers={"X-API-Key": keys["billing:read"]})
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "insufficient_scope"
    assert client.get("/test/needs-inference", headers=account.headers).status_code == 200
    assert client.get("/test/publishers-only", headers=account.headers).status_code == 403


def test_password_change_needs_the_current_password(client: TestClient) -> None:
    account = login(client, register(client))
    wrong = client.put(
        "/v1/auth/password",
        headers=account.headers,
        json={"current_password": "not it", "new_password": "a new password"},
    )
    assert wrong.status_code == 401
    changed = client.put(
        "/v1/auth/password",
        headers=account.headers,
        json={"current_password": PASSWORD, "new_password": "a new password"},
    )
    assert changed.status_code == 200
    old = client.post("/v1/auth/login", json={"email": account.email, "password": PASSWORD})
    assert old.status_code == 401
    new = client.post("/v1/auth/login", json={"email": account.email, "password": "a new password"})
    assert new.status_code == 200


def test_refresh_token_of_an_unknown_session_is_401(client: TestClient) -> None:
    response = client.post(
        "/v1/auth/refresh", json={"refresh_token": new_refresh_token(UUID(int=7))}
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_refresh_token"


def test_metrics_show_positions_and_lag_going_to_zero(client: TestClient) -> None:
    register(client)
    caught_up = 'aimarket_projection_positions_behind{projection="users"} 0.0\n'
    deadline = time.monotonic() + 20
    text = client.get("/metrics").text
    while caught_up not in text and time.monotonic() < deadline:
        time.sleep(0.05)
        text = client.get("/metrics").text
    assert caught_up in text
    assert 'aimarket_projection_seconds_behind{projection="users"} 0.0' in text
    head = float(text.split("\naimarket_event_store_position ")[1].split()[0])
    assert head >= client.position > 0  # type: ignore[attr-defined]


def test_admin_lists_and_searches_accounts(client: TestClient, container: Container) -> None:
    tag = uuid4().hex[:10]
    target = register(client, "publisher", address=f"findme{tag}@example.com")
    admin_email = register(client)
    admin_user = container.account_commands.find_user_by_email(admin_email)
    assert admin_user is not None
    container.auth.change_role(admin_user.id, Role.ADMIN)
    admin = login(client, admin_email)
    if container.settings.profile == "cluster":
        container.read.search.refresh("users")  # OpenSearch shows writes after a refresh
    hits = client.get(
        "/v1/admin/users/search", params={"q": f"findme{tag}"}, headers=admin.headers
    ).json()["items"]
    assert [h["user"]["email"] for h in hits] == [target]
    assert "<em>" in str(hits[0]["highlights"])
    publishers = client.get(
        "/v1/admin/users", params={"role": "publisher"}, headers=admin.headers
    ).json()["items"]
    assert target in {u["email"] for u in publishers}
    assert all(u["role"] == "publisher" for u in publishers)


def test_display_name_is_chosen_at_registration_and_changed_later(client: TestClient) -> None:
    address = unique_email("named")
    registered = client.post(
        "/v1/auth/register",
        json={
            "email": address,
            "password": PASSWORD,
            "role": "publisher",
            "display_name": "Acme AI",
        },
    )
    assert registered.status_code == 201
    account = login(client, address)
    assert client.get("/v1/auth/me", headers=account.headers).json()["display_name"] == "Acme AI"
    renamed = client.patch(
        "/v1/auth/me", json={"display_name": "Acme Labs"}, headers=account.headers
    )
    assert renamed.status_code == 200
    assert client.get("/v1/auth/me", headers=account.headers).json()["display_name"] == "Acme Labs"
    for bad in ("", " padded ", "x" * 61):
        refused = client.patch("/v1/auth/me", json={"display_name": bad}, headers=account.headers)
        assert refused.status_code == 422
