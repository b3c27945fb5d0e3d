"""The LoginSession aggregate: one refresh-token family, from login to logout.

Each refresh rotates the token. Presenting a token that was already rotated
away means it was copied (stolen or replayed), so the whole family is revoked
and every access token it issued is denied until it expires.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import Unauthorized


class RefreshTokenInvalid(Unauthorized):
    code = "invalid_refresh_token"


class RefreshTokenReused(Unauthorized):
    code = "refresh_token_reused"


class LoginSession(Aggregate):
    # `id` in the signature lets the caller choose the id: the refresh token embeds it.
    @event("Started")
    def __init__(
        self,
        id: UUID,
        user_id: UUID,
        token_hash: str,
        expires_at: datetime,
        access_jti: str,
        access_expires_at: datetime,
    ) -> None:
        self.user_id = user_id
        self.token_hash = token_hash
        self.expires_at = expires_at
        self.retired_hashes: list[str] = []
        self.access_tokens: dict[str, datetime] = {access_jti: access_expires_at}
        self.revoked = False

    def check_refresh(self, presented_hash: str, now: datetime) -> None:
        """Raise unless `presented_hash` is this family's current token."""
        if self.revoked:
            raise RefreshTokenInvalid("this session has ended; log in again")
        if presented_hash in self.retired_hashes:
            raise RefreshTokenReused("refresh token was already used; the session is revoked")
        if presented_hash != self.token_hash or now >= self.expires_at:
            raise RefreshTokenInvalid("refresh token is invalid or expired; log in again")

    @event("Rotated")
    def rotate(self, token_hash: str, access_jti: str, access_expires_at: datetime) -> None:
        self.retired_hashes.append(self.token_hash)
        self.token_hash = token_hash
        self.access_tokens[access_jti] = access_expires_at

    def live_access_tokens(self, now: datetime) -> dict[str, datetime]:
        return {jti: exp for jti, exp in self.access_tokens.items() if exp > now}

    def revoke(self, reason: str) -> None:
        if not self.revoked:
            self._revoked(reason)

    @event("Revoked")
    def _revoked(self, reason: str) -> None:
        self.revoked = True
        self.revoke_reason = reason
