"""API keys: issue (shown once), revoke, rotate, and authenticate a presented key."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from commands.accounts import Account, AccountLookup
from commands.cache import TtlCache
from commands.conflicts import CommandHandlers, no_writes
from commands.event_store import EventStore, Written
from commands.secrets import display_prefix, hash_secret, looks_like_api_key, new_api_key
from domain.api_key import ApiKey, check_scopes, key_usable, use_is_due
from domain.clock import Clock
from domain.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthorized
from domain.principal import Principal
from domain.user import User

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


class ApiKeyCommands(CommandHandlers):
    """The key's aggregate changes: issue, revoke, rotate, record a use."""

    def __init__(self, store: EventStore) -> None:
        self.store = store

    def create_api_key(
        self,
        owner_id: UUID,
        key_hash: str,
        name: str,
        scopes: list[str],
        display_prefix: str,
        expires_at: datetime | None,
    ) -> Written:
        owner = self.store.load(User, owner_id)
        key = ApiKey(
            key_hash=key_hash,
            owner_id=owner_id,
            name=name,
            scopes=check_scopes(scopes),
            display_prefix=display_prefix,
            expires_at=expires_at,
        )
        owner.add_api_key(key.id)
        return self.store.write(key, owner)

    def owned_api_key(self, owner_id: UUID, key_id: UUID) -> ApiKey:
        """Someone else's key is reported as missing, never as forbidden."""
        key = self.store.load(ApiKey, key_id)
        if key.owner_id != owner_id:
            raise NotFound(f"no ApiKey {key_id}")
        return key

    def revoke_api_key(self, owner_id: UUID, key_id: UUID) -> Written:
        key = self.owned_api_key(owner_id, key_id)
        key.revoke()
        return self.store.write(key)

    def rotate_api_key(
        self, owner_id: UUID, key_id: UUID, new_key_hash: str, new_display_prefix: str
    ) -> Written:
        """Revoke the old key and issue its replacement with the same name, scopes and expiry."""
        old = self.owned_api_key(owner_id, key_id)
        if old.revoked:
            raise Conflict("a revoked key cannot be rotated", code="key_revoked")
        owner = self.store.load(User, owner_id)
        new = ApiKey(
            key_hash=new_key_hash,
            owner_id=owner_id,
            name=old.name,
            scopes=old.scopes,
            display_prefix=new_display_prefix,
            expires_at=old.expires_at,
        )
        old.revoke()
        owner.add_api_key(new.id)
        return self.store.write(new, old, owner)

    def record_api_key_use(self, key_id: UUID, at: datetime) -> None:
        key = self.store.load(ApiKey, key_id)
        if not key.use_is_due(at):
            return
        key.record_use(at)
        # A conflict means another process recorded a use of this key just now: one is enough.
        with contextlib.suppress(IntegrityError):
            self.store.save(key)


class ApiKeyService(CommandHandlers):
    def __init__(
        self,
        app: EventStore,
        keys: ApiKeyCommands,
        accounts: AccountLookup,
        clock: Clock,
        cache_ttl_s: float,
    ) -> None:
        self.app, self.keys, self.accounts, self.clock = app, keys, accounts, clock
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
        written = self.keys.create_api_key(
            principal.user_id, hash_secret(key), name, wanted, display_prefix(key), expires_at
        )
        return IssuedKey.of(written, key, self.app.load(ApiKey, written.id))

    def revoke(self, principal: Principal, key_id: UUID) -> Written:
        written = self.keys.revoke_api_key(principal.user_id, key_id)
        self._forget(key_id)
        return written

    def rotate(self, principal: Principal, key_id: UUID) -> IssuedKey:
        key = new_api_key()
        written = self.keys.rotate_api_key(
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
            self.keys.record_api_key_use(view.id, now)
            self._cache.invalidate(key_hash)
        return principal

    @no_writes
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
