"""Logging in, the caller's account, and API keys."""

from __future__ import annotations

from aimarket_client.calls import Call, Op, get
from aimarket_client.types import ApiKeyCreated, ApiKeyPublic, UserPublic


def login(email: str, password: str) -> Op[dict[str, str]]:
    """The token pair: `access_token`, `refresh_token`."""
    body = {"email": email, "password": password}
    pair = yield Call("POST", "/v1/auth/login", json=body, authenticated=False)
    return {"access_token": pair["access_token"], "refresh_token": pair["refresh_token"]}


def logout() -> Op[None]:
    yield Call("POST", "/v1/auth/logout")


def me() -> Op[UserPublic]:
    return UserPublic.of((yield get("/v1/auth/me")))


def create_key(name: str, scopes: list[str], expires_at: str | None = None) -> Op[ApiKeyCreated]:
    body = {"name": name, "scopes": scopes, "expires_at": expires_at}
    return ApiKeyCreated.of((yield Call("POST", "/v1/auth/api-keys", json=body)))


def list_keys(include_revoked: bool = False) -> Op[list[ApiKeyPublic]]:
    page = yield get("/v1/auth/api-keys", include_revoked=str(include_revoked).lower())
    return [ApiKeyPublic.of(item) for item in page["items"]]


def revoke_key(key_id: str) -> Op[None]:
    yield Call("DELETE", f"/v1/auth/api-keys/{key_id}", safe_to_repeat=True)


def rotate_key(key_id: str) -> Op[ApiKeyCreated]:
    return ApiKeyCreated.of((yield Call("POST", f"/v1/auth/api-keys/{key_id}/rotate")))
