"""A cached, read-only view of a user for the per-request authentication path."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from commands.application import Marketplace
from commands.cache import TtlCache
from domain.errors import NotFound
from domain.user import User


@dataclass(frozen=True)
class Account:
    id: UUID
    email: str
    role: str
    verified: bool
    deactivated: bool
    version: int

    @classmethod
    def of(cls, user: User) -> Account:
        return cls(user.id, user.email, user.role, user.verified, user.deactivated, user.version)


class AccountLookup:
    def __init__(self, app: Marketplace, ttl_s: float) -> None:
        self._app = app
        self._cache: TtlCache[UUID, Account] = TtlCache(ttl_s)

    def get(self, user_id: UUID) -> Account | None:
        account = self._cache.get(user_id)
        if account is None:
            try:
                account = Account.of(self._app.load(User, user_id))
            except NotFound:
                return None
            self._cache.put(user_id, account)
        return account

    def cached(self, user_id: UUID) -> Account | None:
        return self._cache.get(user_id)

    def forget(self, user_id: UUID) -> None:
        self._cache.invalidate(user_id)
