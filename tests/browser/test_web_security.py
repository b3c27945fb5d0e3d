"""The pages' security on both profiles: CSRF, session fixation, logout ending the
refresh-token family, and someone else's private model being 404."""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

from fastapi.testclient import TestClient

from commands.secrets import hash_secret
from domain.principal import Principal
from infra.bootstrap import Container
from infra.web import session_store
from infra.web.sessions import WebSessions
from infra.web.site import SESSION_COOKIE, Site
from tests.inference_support import create_model
from tests.support import PASSWORD, register, verified_account
from tests.web_support import csrf_of, sign_in_by_form


def holding(client: TestClient, cookie: str) -> None:
    """The client holds just this session cookie (as a browser would for the site)."""
    client.cookies.clear()
    # httpx files a dotless host's cookies under "<host>.local".
    client.cookies.set(SESSION_COOKIE, cookie, domain=f"{client.base_url.host}.local")


def test_a_form_without_its_csrf_token_is_refused(client: TestClient) -> None:
    email = register(client)
    form = {"email": email, "password": PASSWORD}
    refused = client.post("/login", data=form, headers={"Accept": "application/json"})
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "csrf_failed"
    wrong = client.post("/login", data={**form, "csrf_token": "0" * 64})
    assert wrong.status_code == 403 and "csrf_failed" in wrong.text
    cookie = sign_in_by_form(client, email)
    # A token from another session is no good either.
    holding(client, cookie)
    stolen = client.post("/logout", data={"csrf_token": "f" * 64}, follow_redirects=False)
    assert stolen.status_code == 403
    assert client.get("/account/password", follow_redirects=False).status_code == 200


def test_a_session_id_offered_before_sign_in_is_never_adopted(client: TestClient) -> None:
    email = register(client)
    planted = "attacker-chosen-session-id"
    holding(client, planted)
    cookie = sign_in_by_form(client, email)
    assert cookie != planted
    holding(client, planted)
    assert client.get("/account/password", follow_redirects=False).status_code == 303


def test_signing_out_ends_the_refresh_token_family(client: TestClient) -> None:
    email = register(client)
    cookie = sign_in_by_form(client, email)
    site: Site = client.app.state.web_site  # type: ignore[attr-defined]
    record = site.sessions.store.get(hash_secret(cookie), site.sessions.clock.now())
    assert record is not None and cookie not in record.to_json()  # stored under its hash
    token = csrf_of(client, "/account/password")
    assert client.post("/logout", data={"csrf_token": token}).status_code == 200
    refused = client.post("/v1/auth/refresh", json={"refresh_token": record.refresh_token})
    assert refused.status_code == 401, refused.text
    me = client.get("/v1/auth/me", headers={"Authorization": f"Bearer {record.access_token}"})
    assert me.status_code == 401
    holding(client, cookie)
    assert client.get("/account/password", follow_redirects=False).status_code == 303


def at_once(cookie: str, **processes: WebSessions) -> dict[str, Principal | None]:
    """Who each process's WebSessions finds holding `cookie`, asked at the same moment."""
    start, seen = threading.Barrier(len(processes)), dict[str, Principal | None]()

    def visit(name: str, sessions: WebSessions) -> None:
        start.wait()
        seen[name] = sessions.visitor(cookie)

    threads = [threading.Thread(target=visit, args=pair) for pair in processes.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return seen


def test_two_processes_refreshing_one_session_at_once_keep_it(
    client: TestClient, container: Container
) -> None:
    """Two API processes (each its own WebSessions and store connection) get two requests
    of one browser whose access token has run out: one refreshes, the other uses the new
    tokens; neither presents the old refresh token a second time, which would end the
    family as a stolen copy."""
    cookie = sign_in_by_form(client, register(client))
    site: Site = client.app.state.web_site  # type: ignore[attr-defined]
    first = site.sessions
    second = WebSessions(first.auth, session_store(container), first.clock, first.refresh_ttl_s)
    key = hash_secret(cookie)
    for _ in range(5):
        record = first.store.get(key, first.clock.now())
        assert record is not None
        first.store.put(key, replace(record, access_token="run-out"), first.clock.now())
        seen = at_once(cookie, first=first, second=second)
        first_saw, second_saw = seen["first"], seen["second"]
        assert first_saw is not None and second_saw is not None, seen
        assert first_saw.user_id == second_saw.user_id
    holding(client, cookie)
    assert client.get("/account/password", follow_redirects=False).status_code == 200


def test_someone_elses_private_model_page_is_404(client: TestClient, outbox: Path) -> None:
    owner = verified_account(client, outbox, "publisher")
    model_id = create_model(client, owner, visibility="private")
    other = register(client)
    sign_in_by_form(client, other)
    assert client.get(f"/models/{model_id}").status_code == 404
    assert client.get("/models/not-a-uuid").status_code == 404
    client.cookies.clear()
    sign_in_by_form(client, owner.email)
    assert client.get(f"/models/{model_id}").status_code == 200


def test_signing_in_goes_back_only_to_a_page_of_this_site(client: TestClient) -> None:
    email = register(client)
    for target, expected in (("/models?q=x", "/models?q=x"), ("//evil.example", "/"),
                             ("/\\evil.example", "/"), ("https://evil.example", "/")):  # fmt: skip
        client.cookies.clear()
        form = {"email": email, "password": PASSWORD, "next": target}
        done = client.post("/login", data={**form, "csrf_token": csrf_of(client)},
                           follow_redirects=False)  # fmt: skip
        assert done.headers["location"] == expected


def test_someone_elses_objects_are_404_through_the_pages(client: TestClient, outbox: Path) -> None:
    """The pages' routes that name an object, with another person's signed-in session."""
    owner = verified_account(client, outbox, "publisher")
    private = create_model(client, owner, visibility="private")
    made = client.post(
        "/v1/auth/api-keys", json={"name": "k", "scopes": ["inference"]}, headers=owner.headers
    )
    assert made.status_code == 201, made.text
    key_id = made.json()["id"]
    intruder = verified_account(client, outbox)
    sign_in_by_form(client, intruder.email)
    token = csrf_of(client, "/account/keys")
    assert client.get(f"/models/{private}/access").status_code == 404
    asked = client.post(f"/models/{private}/access", data={"csrf_token": token})
    assert asked.status_code == 404
    played = client.post(
        f"/models/{private}/playground", json={"inputs": {"x": [[1, 2, 3, 4]]}},
        headers={"X-CSRF-Token": token, "Accept": "application/json"},
    )  # fmt: skip
    assert played.status_code == 404, played.text
    for action in ("rotate", "revoke"):
        tried = client.post(f"/account/keys/{key_id}/{action}", data={"csrf_token": token})
        assert tried.status_code == 404, tried.text
    assert client.get(f"/static/..%2F{'__init__.py'}").status_code == 404
    still = client.get("/v1/auth/me", headers={"X-API-Key": made.json()["key"]})
    assert still.status_code != 401, still.text  # the key still works: not rotated or revoked
