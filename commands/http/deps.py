"""FastAPI dependencies: the handlers on app.state, and who is calling.

Routes declare what they need with the `Annotated` aliases at the bottom.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, cast

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from commands.api_keys import ApiKeyService
from commands.auth import AuthService
from commands.principal import Principal
from commands.secrets import API_KEY_PREFIX
from domain.errors import Forbidden, Unauthorized

_bearer = HTTPBearer(auto_error=False, description="A JWT access token, or an `aimpk_` API key")
_api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False)

BearerCredentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
ApiKeyHeader = Annotated[str | None, Depends(_api_key_header)]


# Dependencies that do no I/O are `async def`: FastAPI runs plain `def` ones in a thread.
# The auth dependencies read the services off app.state directly: each nested
# dependency costs a resolution step on every request.


def _auth(request: Request) -> AuthService:
    return cast(AuthService, request.app.state.auth)


def _api_keys(request: Request) -> ApiKeyService:
    return cast(ApiKeyService, request.app.state.api_keys)


async def get_auth(request: Request) -> AuthService:
    return _auth(request)


async def get_api_keys(request: Request) -> ApiKeyService:
    return _api_keys(request)


Auth = Annotated[AuthService, Depends(get_auth)]
ApiKeys = Annotated[ApiKeyService, Depends(get_api_keys)]


def current_user(request: Request, bearer: BearerCredentials) -> Principal:
    """A person, by JWT access token; API keys are not accepted here."""
    if bearer is None:
        raise Unauthorized(
            "send `Authorization: Bearer <access token>`", code="missing_credentials"
        )
    if bearer.credentials.startswith(API_KEY_PREFIX):
        raise Unauthorized(
            "this endpoint needs a user access token, not an API key", code="api_key_not_accepted"
        )
    return _auth(request).authenticate_access(bearer.credentials)


async def current_principal_from_api_key(
    request: Request, bearer: BearerCredentials, header: ApiKeyHeader
) -> Principal:
    """A program, by `X-API-Key` or `Authorization: Bearer aimpk_...`."""
    presented = header or (bearer.credentials if bearer else None)
    if not presented:
        raise Unauthorized("send `X-API-Key: aimpk_...`", code="missing_credentials")
    # The hot path of every API call: answer from the cache on the event loop, and
    # go to a thread only when the event store must be read.
    keys = _api_keys(request)
    cached = keys.authenticate_cached(presented)
    if cached is not None:
        return cached
    return await run_in_threadpool(keys.authenticate, presented)


async def current_principal(
    request: Request, bearer: BearerCredentials, header: ApiKeyHeader
) -> Principal:
    """Either: an API key when one is presented, else a JWT access token."""
    if header or (bearer and bearer.credentials.startswith(API_KEY_PREFIX)):
        return await current_principal_from_api_key(request, bearer, header)
    return await run_in_threadpool(current_user, request, bearer)


CurrentUser = Annotated[Principal, Depends(current_user)]
CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require_role(*roles: str) -> Callable[[Principal], Principal]:
    def check(principal: CurrentUser) -> Principal:
        if principal.role not in roles:
            raise Forbidden(f"this needs the role {' or '.join(roles)}", code="forbidden")
        return principal

    return check


def require_scope(scope: str) -> Callable[[Principal], Awaitable[Principal]]:
    async def check(principal: CurrentPrincipal) -> Principal:
        if scope not in principal.scopes:
            raise Forbidden(f"this needs the scope {scope!r}", code="insufficient_scope")
        return principal

    return check


def require_verified(principal: CurrentUser) -> Principal:
    if not principal.verified:
        raise Forbidden("verify your email first", code="email_not_verified")
    return principal


VerifiedUser = Annotated[Principal, Depends(require_verified)]
Admin = Annotated[Principal, Depends(require_role("admin"))]
