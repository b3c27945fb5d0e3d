"""Administration of accounts: list and search them, change roles, deactivate and
reactivate. Every action is an event that names the admin who took it."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from domain.user import Role
from infra.http.deps import Admin, Auth, Use, admin_only
from infra.http.params import Limit, PageCursor, fresh_for
from infra.http.schemas import accounts as schemas
from infra.http.schemas.common import Written
from queries.accounts import AccountQueries

router = APIRouter(prefix="/v1", tags=["admin"])
Accounts = Annotated[AccountQueries, Use(AccountQueries)]
FreshAdmin = fresh_for(admin_only)  # `wait_for` after the caller is known to be an admin


@router.get("/admin/users", response_model=schemas.UsersPage, dependencies=[FreshAdmin])
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


@router.put("/admin/users/{user_id}/role", response_model=Written)
def change_role(user_id: UUID, body: schemas.RoleUpdate, admin: Admin, auth: Auth) -> Written:
    """Give a user another role (publisher, consumer or admin). An admin cannot demote
    themselves, and the last active admin cannot be demoted (409 `last_admin`)."""
    written = auth.change_role(user_id, Role(body.role), by=admin.user_id)
    return Written(id=written.id, position=written.position)


@router.post("/admin/users/{user_id}/deactivate", response_model=Written)
def deactivate(user_id: UUID, admin: Admin, auth: Auth) -> Written:
    """Deactivate an account (soft delete): it can no longer log in or use its keys. An
    admin cannot deactivate themselves, nor the last active admin (409 `last_admin`)."""
    written = auth.deactivate(user_id, by=admin.user_id)
    return Written(id=written.id, position=written.position)


@router.post("/admin/users/{user_id}/reactivate", response_model=Written)
def reactivate(user_id: UUID, admin: Admin, auth: Auth) -> Written:
    """Reactivate a deactivated account: it can log in again (its API keys, if not revoked,
    work again too)."""
    written = auth.reactivate(user_id, by=admin.user_id)
    return Written(id=written.id, position=written.position)
