"""Accounts, sessions and API keys: register, verify, log in and out, the caller's own
account, and their keys."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Request, Response, status

from commands.api_keys import IssuedKey
from commands.auth import TokenPair as IssuedPair
from domain.user import Role, normalise_email
from infra.http.deps import (
    ApiKeys,
    Auth,
    CurrentPrincipal,
    CurrentUser,
    Use,
    VerifiedUser,
    current_principal,
    current_user,
)
from infra.http.params import Limit, PageCursor, fresh_for
from infra.http.schemas import accounts as schemas
from infra.http.schemas.common import Written
from queries.accounts import AccountQueries

router = APIRouter(prefix="/v1", tags=["auth"])
Accounts = Annotated[AccountQueries, Use(AccountQueries)]
# Each read's `wait_for` waits for the route's own caller, once they are authenticated.
FreshPrincipal = fresh_for(current_principal)
FreshUser = fresh_for(current_user)

POSITION_HEADER = "X-Event-Position"


def no_content(position: int) -> Response:
    """204, with the event position a client passes as `wait_for` to read its write."""
    return Response(
        status_code=status.HTTP_204_NO_CONTENT, headers={POSITION_HEADER: str(position)}
    )


def _pair(pair: IssuedPair) -> schemas.TokenPair:
    return schemas.TokenPair(
        access_token=pair.access_token,
        refresh_token=pair.refresh_token,
        expires_in=pair.expires_in,
    )


@router.post(
    "/auth/register", status_code=status.HTTP_201_CREATED, response_model=schemas.Registered
)
def register(body: schemas.UserCreate, auth: Auth) -> schemas.Registered:
    """Create an account; a verification token is emailed to the address."""
    # As typed: the service normalises it, and looks for an account made before NFKC too.
    written = auth.register(body.email, body.password, Role(body.role), body.display_name or "")
    email = normalise_email(body.email)
    return schemas.Registered(id=written.id, position=written.position, email=email, role=body.role)


@router.post("/auth/verify-email", response_model=Written)
def verify_email(body: schemas.VerifyEmail, auth: Auth) -> Written:
    """Confirm an email address with the token that was mailed to it."""
    written = auth.verify_email(body.token)
    return Written(id=written.id, position=written.position)


@router.post("/auth/verify-email/resend", status_code=status.HTTP_202_ACCEPTED)
def resend_verification(user: CurrentUser, auth: Auth) -> Response:
    """Mail a fresh verification token to the caller's address."""
    auth.resend_verification(user)
    return Response(status_code=status.HTTP_202_ACCEPTED)


@router.patch("/auth/me", response_model=Written)
def update_profile(body: schemas.ProfileUpdate, user: CurrentUser, auth: Auth) -> Written:
    """Change your public display name (shown as the publisher of your models)."""
    written = auth.rename(user, body.display_name)
    return Written(id=written.id, position=written.position)


@router.put("/auth/password", response_model=Written)
def change_password(body: schemas.PasswordChange, user: CurrentUser, auth: Auth) -> Written:
    """Change the caller's password; the current one must be given."""
    written = auth.change_password(user, body.current_password, body.new_password)
    return Written(id=written.id, position=written.position)


@router.post("/auth/login", response_model=schemas.TokenPair)
def login(body: schemas.Login, request: Request, auth: Auth) -> schemas.TokenPair:
    """Exchange email and password for an access token and a refresh token. Attempts are
    limited per email and per client address (429 `rate_limited`, with Retry-After)."""
    # The connection's address; a proxy's X-Forwarded-For only when the server trusts it
    # (AIMARKET_TRUSTED_PROXIES, applied by uvicorn before this runs).
    client = request.client.host if request.client else None
    return _pair(auth.login(body.email, body.password, client))


@router.post("/auth/refresh", response_model=schemas.TokenPair)
def refresh(body: schemas.RefreshRequest, auth: Auth) -> schemas.TokenPair:
    """Rotate a refresh token. Presenting one that was already rotated ends the session."""
    return _pair(auth.refresh(body.refresh_token))


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(user: CurrentUser, auth: Auth) -> Response:
    """End the session: its refresh token and access tokens stop working now."""
    auth.logout(user)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _created(issued: IssuedKey) -> schemas.ApiKeyCreated:
    return schemas.ApiKeyCreated(
        id=issued.written.id,
        position=issued.written.position,
        key=issued.key,
        name=issued.name,
        prefix=issued.prefix,
        scopes=issued.scopes,
        expires_at=issued.expires_at,
    )


@router.post(
    "/auth/api-keys", status_code=status.HTTP_201_CREATED, response_model=schemas.ApiKeyCreated
)
def create_api_key(
    body: schemas.ApiKeyCreate, user: VerifiedUser, keys: ApiKeys
) -> schemas.ApiKeyCreated:
    """Create an API key. The key is in this response only: store it now."""
    return _created(keys.create(user, body.name, body.scopes, body.expires_at))


@router.post(
    "/auth/api-keys/{key_id}/rotate",
    status_code=status.HTTP_201_CREATED,
    response_model=schemas.ApiKeyCreated,
)
def rotate_api_key(key_id: UUID, user: VerifiedUser, keys: ApiKeys) -> schemas.ApiKeyCreated:
    """Replace a key: the old one stops working now, the new one is shown once."""
    return _created(keys.rotate(user, key_id))


@router.delete("/auth/api-keys/{key_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_api_key(key_id: UUID, user: CurrentUser, keys: ApiKeys) -> Response:
    """Revoke a key; the next call that presents it is refused."""
    written = keys.revoke(user, key_id)
    return no_content(written.position)


@router.get("/auth/me", response_model=schemas.UserPublic, dependencies=[FreshPrincipal])
def me(principal: CurrentPrincipal, accounts: Accounts) -> schemas.UserPublic:
    """The caller's own account."""
    return schemas.UserPublic.model_validate(accounts.me(principal.user_id))


@router.get("/auth/api-keys", response_model=schemas.ApiKeysPage, dependencies=[FreshUser])
def list_api_keys(
    user: CurrentUser,
    accounts: Accounts,
    cursor: PageCursor,
    include_revoked: bool = False,
    limit: Limit = 50,
) -> schemas.ApiKeysPage:
    """The caller's API keys, newest first, without the keys themselves."""
    page = accounts.api_keys(user.user_id, include_revoked, limit, cursor)
    return schemas.ApiKeysPage.model_validate(
        {"items": page.items, "next_cursor": page.next_cursor}
    )
