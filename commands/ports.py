"""The ports the write side needs; adapters live in infra/ and are handed in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


class PasswordHasher(Protocol):
    def hash(self, password: str) -> str: ...

    def verify(self, password_hash: str, password: str) -> bool: ...

    def needs_rehash(self, password_hash: str) -> bool: ...


@dataclass(frozen=True)
class OutgoingEmail:
    to: str
    subject: str
    body: str


class Mailer(Protocol):
    def send(self, email: OutgoingEmail) -> None: ...


class TokenDenylist(Protocol):
    """Access-token ids (`jti`) refused until they would have expired anyway."""

    def deny(self, jti: str, expires_at: datetime) -> None: ...

    def is_denied(self, jti: str) -> bool: ...


class RateLimiter(Protocol):
    def hit(self, key: str, limit: int, window_s: int) -> int:
        """Count one hit; return 0 when allowed, else seconds until the next is allowed."""
        ...


class Clock(Protocol):
    def now(self) -> datetime: ...
