"""The ApiKey aggregate: a secret a program sends instead of a password.

Addressed by a uuid5 of the key's hash, so verifying a presented key needs no
read model: hash it, derive the id, load the aggregate. Revocation is an event
on that same aggregate, so it is seen by the very next verification.
"""

from __future__ import annotations

from datetime import datetime
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import InvalidInput

API_KEY_NAMESPACE = uuid5(NAMESPACE_URL, "https://aimarket.dev/ns/api-key")

SCOPES = frozenset({"models:read", "models:write", "inference", "billing:read"})

# A key's use is recorded at most this often, so a busy key does not write an event per call.
USE_RECORDING_INTERVAL_S = 60


def check_scopes(scopes: list[str]) -> list[str]:
    unknown = sorted(set(scopes) - SCOPES)
    if unknown:
        allowed = ", ".join(sorted(SCOPES))
        raise InvalidInput(f"unknown scopes {unknown}; allowed: {allowed}", code="unknown_scope")
    if not scopes:
        raise InvalidInput("an API key needs at least one scope", code="unknown_scope")
    return sorted(set(scopes))


def key_usable(revoked: bool, expires_at: datetime | None, now: datetime) -> bool:
    """A key works until it is revoked or expires; the aggregate and the cached view ask this."""
    return not revoked and (expires_at is None or now < expires_at)


def use_is_due(last_used_at: datetime | None, now: datetime) -> bool:
    """Whether a use at `now` is recorded: at most one per interval per key."""
    return last_used_at is None or (now - last_used_at).total_seconds() >= USE_RECORDING_INTERVAL_S


class ApiKey(Aggregate):
    @staticmethod
    def create_id(key_hash: str) -> UUID:
        return uuid5(API_KEY_NAMESPACE, key_hash)

    @event("Created")
    def __init__(
        self,
        key_hash: str,
        owner_id: UUID,
        name: str,
        scopes: list[str],
        display_prefix: str,
        expires_at: datetime | None,
    ) -> None:
        self.key_hash = key_hash
        self.owner_id = owner_id
        self.name = name
        self.scopes = scopes
        self.display_prefix = display_prefix
        self.expires_at = expires_at
        self.revoked = False
        self.last_used_at: datetime | None = None

    def is_usable(self, now: datetime) -> bool:
        return key_usable(self.revoked, self.expires_at, now)

    def revoke(self) -> None:
        if not self.revoked:
            self._revoked()

    @event("Revoked")
    def _revoked(self) -> None:
        self.revoked = True

    def use_is_due(self, now: datetime) -> bool:
        return use_is_due(self.last_used_at, now)

    @event("Used")
    def record_use(self, at: datetime) -> None:
        self.last_used_at = at
