"""FastAPI dependencies: the handlers on app.state, and who is calling.

Routes declare what they need with the `Annotated` aliases at the bottom.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, cast

from fastapi import Depends, Request
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


def _state(request: Request, name: str) -> Any:
    return getattr(request.app.state, name)


def get_auth(request: Request) -> AuthService:
    return cast(AuthService, _state(request, "auth"))


def get_api_keys(request: Request) -> ApiKeyService:
    return cast(ApiKeyService, _state(request, "api_keys"))


Auth = Annotated[AuthService, Depends(get_auth)]
ApiKeys = Annotated[ApiKeyService, Depends(get_api_keys)]


def current_user(bearer: BearerCredentials, auth: Auth) -> Principal:
    """A person, by JWT access token; API keys are not accepted here."""
    if bearer is None:
        raise Unauthorized("send `Authorization: Bearer <access token>`", code="missing_credentials")
    if bearer.credentials.startswith(API_KEY_PREFIX):
        raise Unauthorized("this endpoint needs a user access token, not an API key",
                           code="api_key_not_accepted")
    return auth.authenticate_access(bearer.credentials)


def current_principal_from_api_key(
    bearer: BearerCredentials, header: ApiKeyHeader, keys: ApiKeys
) -> Principal:
    """A program, by `X-API-Key` or `Authorization: Bearer aimpk_...`."""
    presented = header or (bearer.credentials if bearer else None)
    if not presented:
        raise Unauthorized("send `X-API-Key: aimpk_...`", code="missing_credentials")
    return keys.authenticate(presented)


def current_principal(
    bearer: BearerCredentials, header: ApiKeyHeader, auth: Auth, keys: ApiKeys
) -> Principal:
    """Either: an API key when one is presented, else a JWT access token."""
    if header or (bearer and bearer.credentials.startswith(API_KEY_PREFIX)):
        return current_principal_from_api_key(bearer, header, keys)
    return current_user(bearer, auth)


CurrentUser = Annotated[Principal, Depends(current_user)]
CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require_role(*roles: str) -> Callable[[Principal], Principal]:
    def check(principal: CurrentUser) -> Principal:
        if principal.role not in roles:
            raise Forbidden(f"this needs the role {' or '.join(roles)}", code="forbidden")
        return principal

    return check


def require_scope(scope: str) -> Callable[[Principal], Principal]:
    def check(principal: CurrentPrincipal) -> Principal:
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
