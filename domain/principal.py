"""Who is calling: the result of authenticating a request, by JWT or by API key."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from domain.api_key import SCOPES
from domain.errors import Forbidden

ALL_SCOPES = frozenset(SCOPES)


@dataclass(frozen=True)
class Principal:
    user_id: UUID
    role: str
    verified: bool
    via: str  # "jwt" or "api_key"
    scopes: frozenset[str] = field(default=ALL_SCOPES)
    api_key_id: UUID | None = None
    jti: str | None = None
    session_id: UUID | None = None
    token_expires_at: datetime | None = None

    def check_verified(self) -> None:
        if not self.verified:
            raise Forbidden("verify your email first", code="email_not_verified")
