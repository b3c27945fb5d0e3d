"""Read handlers for the caller's own account and API keys.

These read the aggregates through the application, because no read model
exists yet for accounts; they move onto the `users` and `api_keys`
projections when the event pipeline lands.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from commands.application import Marketplace
from domain.api_key import ApiKey
from domain.user import User


@dataclass(frozen=True)
class AccountView:
    id: UUID
    email: str
    role: str
    verified: bool
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class ApiKeyView:
    id: UUID
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked: bool


class AccountQueries:
    def __init__(self, app: Marketplace) -> None:
        self._app = app

    def me(self, user_id: UUID) -> AccountView:
        user = self._app.load(User, user_id)
        return AccountView(
            user.id, user.email, user.role, user.verified, user.created_on, user.modified_on
        )

    def api_keys(self, user_id: UUID, include_revoked: bool = False) -> list[ApiKeyView]:
        user = self._app.load(User, user_id)
        keys = [self._app.load(ApiKey, key_id) for key_id in user.api_key_ids]
        return [
            ApiKeyView(
                k.id,
                k.name,
                k.display_prefix,
                k.scopes,
                k.created_on,
                k.expires_at,
                k.last_used_at,
                k.revoked,
            )
            for k in reversed(keys)
            if include_revoked or not k.revoked
        ]
