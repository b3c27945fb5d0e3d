"""API keys: issue (shown once), revoke, rotate, and authenticate a presented key."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from commands.accounts import Account, AccountLookup
from commands.application import Marketplace, Written
from commands.cache import TtlCache
from commands.conflicts import CommandHandlers
from commands.secrets import display_prefix, hash_secret, looks_like_api_key, new_api_key
from domain.api_key import ApiKey, check_scopes, key_usable, use_is_due
from domain.clock import Clock
from domain.errors import Forbidden, InvalidInput, NotFound, Unauthorized
from domain.principal import Principal

# Consumers call and browse; only publishers and admins may write models.
ROLE_SCOPES = {
    "consumer": frozenset({"models:read", "inference", "billing:read"}),
    "publisher": frozenset({"models:read", "models:write", "inference", "billing:read"}),
    "admin": frozenset({"models:read", "models:write", "inference", "billing:read"}),
}


class InvalidApiKey(Unauthorized):
    code = "invalid_api_key"


@dataclass(frozen=True)
class IssuedKey:
    """A new key, with the plain key itself: the only time it exists outside the caller."""

    written: Written
    key: str
    name: str
    prefix: str
    scopes: list[str]
    expires_at: datetime | None

    @classmethod
    def of(cls, written: Written, key: str, saved: ApiKey) -> IssuedKey:
        return cls(written, key, saved.name, saved.display_prefix, saved.scopes, saved.expires_at)


@dataclass(frozen=True)
class KeyView:
    """What the hot path needs of a key, cached by the key's hash."""

    id: UUID
    owner_id: UUID
    scopes: frozenset[str]
    expires_at: datetime | None
    revoked: bool
    last_used_at: datetime | None

    @classmethod
    def of(cls, key: ApiKey) -> KeyView:
        return cls(
            key.id,
            key.owner_id,
            frozenset(key.scopes),
            key.expires_at,
            key.revoked,
            key.last_used_at,
        )

    def usable(self, now: datetime) -> bool:
        return key_usable(self.revoked, self.expires_at, now)


class ApiKeyService(CommandHandlers):
    def __init__(
        self, app: Marketplace, accounts: AccountLookup, clock: Clock, cache_ttl_s: float
    ) -> None:
        self.app, self.accounts, self.clock = app, accounts, clock
        self._cache: TtlCache[str, KeyView] = TtlCache(cache_ttl_s)

    def create(
        self, principal: Principal, name: str, scopes: list[str], expires_at: datetime | None
    ) -> IssuedKey:
        wanted = check_scopes(scopes)
        refused = sorted(set(wanted) - ROLE_SCOPES.get(principal.role, frozenset()))
        if refused:
            raise Forbidden(f"your role may not hold scopes {refused}", code="scope_not_allowed")
        if expires_at is not None and expires_at <= self.clock.now():
            raise InvalidInput("expires_at must be in the future", code="invalid_expiry")
        key = new_api_key()
        written = self.app.create_api_key(
            principal.user_id, hash_secret(key), name, wanted, display_prefix(key), expires_at
        )
        return IssuedKey.of(written, key, self.app.load(ApiKey, written.id))

    def revoke(self, principal: Principal, key_id: UUID) -> Written:
        written = self.app.revoke_api_key(principal.user_id, key_id)
        self._forget(key_id)
        return written

    def rotate(self, principal: Principal, key_id: UUID) -> IssuedKey:
        key = new_api_key()
        written = self.app.rotate_api_key(
            principal.user_id, key_id, hash_secret(key), display_prefix(key)
        )
        self._forget(key_id)
        return IssuedKey.of(written, key, self.app.load(ApiKey, written.id))

    def _forget(self, key_id: UUID) -> None:
        self._cache.invalidate(self.app.load(ApiKey, key_id).key_hash)

    def authenticate(self, presented: str) -> Principal:
        """Full check; may read the event store and record the key's use."""
        key_hash = self._hash_of(presented)
        view = self._cache.get(key_hash) or self._load(key_hash)
        now = self.clock.now()
        principal = self._principal(view, self.accounts.get(view.owner_id), now)
        if use_is_due(view.last_used_at, now):
            self.app.record_api_key_use(view.id, now)
            self._cache.invalidate(key_hash)
        return principal

    def authenticate_cached(self, presented: str) -> Principal | None:
        """The no-I/O fast path: a principal when everything needed is cached, else None."""
        view = self._cache.get(self._hash_of(presented))
        now = self.clock.now()
        if view is None or use_is_due(view.last_used_at, now):
            return None
        account = self.accounts.cached(view.owner_id)
        if account is None:
            return None
        return self._principal(view, account, now)

    @staticmethod
    def _hash_of(presented: str) -> str:
        if not looks_like_api_key(presented):
            raise InvalidApiKey("API key is malformed")
        return hash_secret(presented)

    @staticmethod
    def _principal(view: KeyView, account: Account | None, now: datetime) -> Principal:
        if not view.usable(now) or account is None or account.deactivated:
            raise InvalidApiKey("API key is revoked or expired")
        return Principal(
            user_id=account.id,
            role=account.role,
            verified=account.verified,
            via="api_key",
            scopes=view.scopes,
            api_key_id=view.id,
        )

    def _load(self, key_hash: str) -> KeyView:
        try:
            view = KeyView.of(self.app.load(ApiKey, ApiKey.create_id(key_hash)))
        except NotFound:
            raise InvalidApiKey("API key is not recognised") from None
        self._cache.put(key_hash, view)
        return view
