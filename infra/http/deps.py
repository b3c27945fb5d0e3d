"""FastAPI dependencies: a service from the container, and who is calling.

Routes declare what they need: `Annotated[ModelCommands, Use(ModelCommands)]` for a
service, the `Annotated` aliases at the bottom for the caller.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Any, TypeVar, cast

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import APIKeyHeader, HTTPBearer

from commands.api_keys import ApiKeyService
from commands.auth import AuthService
from commands.secrets import API_KEY_PREFIX
from domain.errors import Forbidden, Unauthorized
from domain.principal import Principal

if TYPE_CHECKING:
    from infra.bootstrap import Container

T = TypeVar("T")

# Dependencies that do no I/O are `async def`: FastAPI runs plain `def` ones in a thread.


def container_of(request: Request) -> Container:
    return cast("Container", request.app.state.container)


def Use(kind: type[T]) -> Any:
    """The container's `kind`: the one way a route gets a service."""

    async def service(request: Request) -> T:
        return container_of(request).get(kind)

    return Depends(service)


def _auth(request: Request) -> AuthService:
    return container_of(request).get(AuthService)


def _api_keys(request: Request) -> ApiKeyService:
    return container_of(request).get(ApiKeyService)


Auth = Annotated[AuthService, Use(AuthService)]
ApiKeys = Annotated[ApiKeyService, Use(ApiKeyService)]


class _UserAuth(HTTPBearer):
    """A person, by JWT access token; API keys are not accepted.

    Subclassing the security scheme keeps it in the OpenAPI document and resolves the
    caller in one dependency step (every step costs time on every request). A plain
    `def`: FastAPI runs it in a thread, since the denylist check is I/O.
    """

    def __call__(self, request: Request) -> Principal:  # type: ignore[override]
        token = _bearer_token(request)
        if token is None:
            raise Unauthorized(
                "send `Authorization: Bearer <access token>`", code="missing_credentials"
            )
        if token.startswith(API_KEY_PREFIX):
            raise Unauthorized(
                "this endpoint needs a user access token, not an API key",
                code="api_key_not_accepted",
            )
        return _noted(request, _auth(request).authenticate_access(token))


class _ApiKeyAuth(APIKeyHeader):
    """A program, by `X-API-Key: aimpk_...` or `Authorization: Bearer aimpk_...`; with
    `or_user`, a person's access token is accepted as well."""

    def __init__(self, or_user: _UserAuth | None) -> None:
        super().__init__(name="X-API-Key", scheme_name="ApiKey", auto_error=False)
        self.or_user = or_user

    async def __call__(self, request: Request) -> Principal:  # type: ignore[override]
        header, bearer = request.headers.get("x-api-key"), _bearer_token(request)
        if header:
            return _noted(request, await _principal_from_key(request, header))
        if bearer and bearer.startswith(API_KEY_PREFIX):
            return _noted(request, await _principal_from_key(request, bearer))
        if self.or_user is not None:
            return await run_in_threadpool(self.or_user, request)
        raise Unauthorized("send `X-API-Key: aimpk_...`", code="missing_credentials")


def _noted(request: Request, principal: Principal) -> Principal:
    """The caller's id in the request's state, for the access log line."""
    request.state.principal_id = str(principal.user_id)
    return principal


def _bearer_token(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


async def _principal_from_key(request: Request, presented: str) -> Principal:
    # The hot path of every API call: answer from the cache on the event loop, and
    # go to a thread only when the event store must be read.
    keys = _api_keys(request)
    cached = keys.authenticate_cached(presented)
    if cached is not None:
        return cached
    return await run_in_threadpool(keys.authenticate, presented)


current_user = _UserAuth(
    scheme_name="AccessToken",
    description="A JWT access token from /v1/auth/login",
    auto_error=False,
)
current_principal_from_api_key = _ApiKeyAuth(or_user=None)
current_principal = _ApiKeyAuth(or_user=current_user)


async def optional_principal(request: Request) -> Principal | None:
    """The caller if they sent credentials (which must then be valid), else None: for
    routes anyone may read, where a caller may see more of their own."""
    if not request.headers.get("authorization") and not request.headers.get("x-api-key"):
        return None
    return await current_principal(request)


CurrentUser = Annotated[Principal, Depends(current_user)]
CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
ApiKeyPrincipal = Annotated[Principal, Depends(current_principal_from_api_key)]


def require_role(*roles: str) -> Callable[[Principal], Awaitable[Principal]]:
    async def check(principal: CurrentUser) -> Principal:
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


async def require_verified(principal: CurrentUser) -> Principal:
    principal.check_verified()
    return principal


VerifiedUser = Annotated[Principal, Depends(require_verified)]
# Each made once: a route's `wait_for` depends on the very same callable (see
# infra.http.params.fresh_for), so FastAPI resolves the caller once, before the wait.
# The registry's two sides: a person's access token, or an API key holding the scope.
models_read = require_scope("models:read")
models_write = require_scope("models:write")
admin_only = require_role("admin")
ModelReader = Annotated[Principal, Depends(models_read)]
billing_read = require_scope("billing:read")
BillingReader = Annotated[Principal, Depends(billing_read)]
ModelWriter = Annotated[Principal, Depends(models_write)]
Admin = Annotated[Principal, Depends(admin_only)]
MaybeCaller = Annotated[Principal | None, Depends(optional_principal)]
# Inference and its async jobs: an API key with the scope `inference`, or a person's JWT.
inference_caller = require_scope("inference")
Inferrer = Annotated[Principal, Depends(inference_caller)]
