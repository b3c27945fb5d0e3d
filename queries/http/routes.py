"""Query routes: the caller's account and keys, audit history, health."""

from __future__ import annotations

from typing import Annotated, cast
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request

from commands.http.deps import (
    Admin,
    CurrentPrincipal,
    CurrentUser,
    admin_only,
    current_principal,
    current_user,
)
from projections.cursor import MAX_INT64
from queries.accounts import AccountQueries
from queries.audit import AuditQueries
from queries.health import Readiness
from queries.http import schemas
from queries.http.params import Limit, PageCursor, Version, fresh_for


def get_accounts(request: Request) -> AccountQueries:
    return cast(AccountQueries, request.app.state.account_queries)


def get_audit(request: Request) -> AuditQueries:
    return cast(AuditQueries, request.app.state.audit)


def get_readiness(request: Request) -> Readiness:
    return cast(Readiness, request.app.state.readiness)


# Each route's `wait_for` waits for the route's own caller, once they are authenticated.
FreshPrincipal = fresh_for(current_principal)
FreshUser = fresh_for(current_user)
FreshAdmin = fresh_for(admin_only)


Accounts = Annotated[AccountQueries, Depends(get_accounts)]
Audit = Annotated[AuditQueries, Depends(get_audit)]

router = APIRouter(prefix="/v1")


@router.get(
    "/auth/me", response_model=schemas.UserPublic, tags=["auth"], dependencies=[FreshPrincipal]
)
def me(principal: CurrentPrincipal, accounts: Accounts) -> schemas.UserPublic:
    """The caller's own account."""
    return schemas.UserPublic.model_validate(accounts.me(principal.user_id))


@router.get(
    "/auth/api-keys", response_model=schemas.ApiKeysPage, tags=["auth"], dependencies=[FreshUser]
)
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


@router.get(
    "/admin/users", response_model=schemas.UsersPage, tags=["admin"], dependencies=[FreshAdmin]
)
def list_users(
    admin: Admin,
    accounts: Accounts,
    cursor: PageCursor,
    role: str | None = None,
    status: str | None = None,
    limit: Limit = 50,
) -> schemas.UsersPage:
    """Accounts, newest first, filtered by role and status (admin)."""
    filters = {k: v for k, v in {"role": role, "status": status}.items() if v is not None}
    page = accounts.users(filters, limit, cursor)
    return schemas.UsersPage.model_validate({"items": page.items, "next_cursor": page.next_cursor})


@router.get(
    "/admin/users/search",
    response_model=schemas.UserHits,
    tags=["admin"],
    dependencies=[FreshAdmin],
)
def search_users(
    admin: Admin,
    accounts: Accounts,
    q: Annotated[str, Query(min_length=1, max_length=200)],
    role: str | None = None,
    limit: Limit = 20,
) -> schemas.UserHits:
    """Full-text search over accounts by email (admin)."""
    hits = accounts.search_users(q, {"role": role} if role else {}, limit)
    return schemas.UserHits.model_validate({"items": hits})


@router.get(
    "/audit/aggregates/{aggregate_id}/events", response_model=schemas.EventsPage, tags=["audit"]
)
def aggregate_events(
    aggregate_id: UUID,
    admin: Admin,
    audit: Audit,
    after_version: Annotated[int, Query(ge=0, le=MAX_INT64)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> schemas.EventsPage:
    """Every event of one aggregate, oldest first, secrets masked (admin)."""
    items = audit.events(aggregate_id, after_version, limit)
    more = len(items) == limit
    return schemas.EventsPage(
        items=items, next_after_version=items[-1]["version"] if more else None
    )


@router.get(
    "/audit/aggregates/{aggregate_id}/state", response_model=schemas.AggregateState, tags=["audit"]
)
def aggregate_state(
    aggregate_id: UUID,
    admin: Admin,
    audit: Audit,
    version: Version | None = None,
) -> schemas.AggregateState:
    """An aggregate's state now, or as it was at `version` (admin)."""
    return schemas.AggregateState.model_validate(audit.state(aggregate_id, version))


@router.get("/health", tags=["ops"])
def health() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/ready", tags=["ops"])
def ready(request: Request) -> dict[str, object]:
    """The process can reach what it needs (the event store)."""
    return get_readiness(request).check()
