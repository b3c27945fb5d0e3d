"""Signed tokens (JWT, HS256): short-lived access tokens and email-verification links."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import jwt

from domain.errors import Unauthorized

ISSUER = "aimarket"
ACCESS = "access"
VERIFY_EMAIL = "verify_email"


class InvalidToken(Unauthorized):
    code = "invalid_token"


class TokenExpired(Unauthorized):
    code = "token_expired"


@dataclass(frozen=True)
class AccessClaims:
    user_id: UUID
    role: str
    jti: str
    session_id: UUID
    expires_at: datetime


@dataclass(frozen=True)
class IssuedToken:
    token: str
    jti: str
    expires_at: datetime


class TokenCodec:
    def __init__(self, secret: str, access_ttl_s: int, verify_email_ttl_s: int) -> None:
        self._secret = secret
        self._access_ttl = timedelta(seconds=access_ttl_s)
        self._verify_ttl = timedelta(seconds=verify_email_ttl_s)

    @property
    def verify_email_ttl_hours(self) -> int:
        return round(self._verify_ttl.total_seconds() / 3600)

    def _encode(self, purpose: str, now: datetime, ttl: timedelta, **claims: Any) -> IssuedToken:
        jti = secrets.token_urlsafe(16)
        expires_at = now + ttl
        payload = {"iss": ISSUER, "aud": purpose, "iat": now, "exp": expires_at, "jti": jti}
        token = jwt.encode(payload | claims, self._secret, algorithm="HS256")
        return IssuedToken(token, jti, expires_at)

    def _decode(self, token: str, purpose: str) -> dict[str, Any]:
        try:
            return jwt.decode(
                token,
                self._secret,
                algorithms=["HS256"],
                audience=purpose,
                issuer=ISSUER,
                options={"require": ["exp", "iat", "jti", "sub"]},
            )
        except jwt.ExpiredSignatureError:
            raise TokenExpired("token has expired") from None
        except jwt.PyJWTError:
            raise InvalidToken("token is invalid") from None

    def issue_access(
        self, user_id: UUID, role: str, session_id: UUID, now: datetime
    ) -> IssuedToken:
        return self._encode(
            ACCESS, now, self._access_ttl, sub=str(user_id), role=role, sid=str(session_id)
        )

    def decode_access(self, token: str) -> AccessClaims:
        claims = self._decode(token, ACCESS)
        try:
            return AccessClaims(
                user_id=UUID(claims["sub"]),
                role=str(claims["role"]),
                jti=str(claims["jti"]),
                session_id=UUID(claims["sid"]),
                expires_at=datetime.fromtimestamp(claims["exp"], tz=UTC),
            )
        except (KeyError, ValueError):
            raise InvalidToken("token is invalid") from None

    def issue_email_verification(self, user_id: UUID, email: str, now: datetime) -> str:
        return self._encode(
            VERIFY_EMAIL, now, self._verify_ttl, sub=str(user_id), email=email
        ).token

    def decode_email_verification(self, token: str) -> tuple[UUID, str]:
        claims = self._decode(token, VERIFY_EMAIL)
        try:
            return UUID(claims["sub"]), str(claims["email"])
        except (KeyError, ValueError):
            raise InvalidToken("token is invalid") from None
