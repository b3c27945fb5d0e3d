"""Command routes for administrators."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter

from commands.http import schemas
from commands.http.deps import Admin, Auth
from domain.user import Role

router = APIRouter(prefix="/v1/admin", tags=["admin"])


@router.put("/users/{user_id}/role", response_model=schemas.Written)
def change_role(
    user_id: UUID, body: schemas.RoleUpdate, admin: Admin, auth: Auth
) -> schemas.Written:
    """Give a user another role (publisher, consumer or admin). An admin cannot demote
    themselves, and the last active admin cannot be demoted (409 `last_admin`)."""
    written = auth.change_role(user_id, Role(body.role), by=admin.user_id)
    return schemas.Written(id=written.id, position=written.position)


@router.post("/users/{user_id}/deactivate", response_model=schemas.Written)
def deactivate(user_id: UUID, admin: Admin, auth: Auth) -> schemas.Written:
    """Deactivate an account (soft delete): it can no longer log in or use its keys. An
    admin cannot deactivate themselves, nor the last active admin (409 `last_admin`)."""
    written = auth.deactivate(user_id, by=admin.user_id)
    return schemas.Written(id=written.id, position=written.position)


@router.post("/users/{user_id}/reactivate", response_model=schemas.Written)
def reactivate(user_id: UUID, admin: Admin, auth: Auth) -> schemas.Written:
    """Reactivate a deactivated account: it can log in again (its API keys, if not revoked,
    work again too)."""
    written = auth.reactivate(user_id, by=admin.user_id)
    return schemas.Written(id=written.id, position=written.position)
