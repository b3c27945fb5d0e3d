from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from commands.tokens import InvalidToken, TokenCodec, TokenExpired

SECRET = "s" * 48


def codec(access_ttl_s: int = 900) -> TokenCodec:
    return TokenCodec(SECRET, access_ttl_s=access_ttl_s, verify_email_ttl_s=3600)


def test_access_token_round_trips_its_claims() -> None:
    user_id, session_id = uuid.uuid4(), uuid.uuid4()
    issued = codec().issue_access(user_id, "publisher", session_id, datetime.now(UTC))
    claims = codec().decode_access(issued.token)
    assert (claims.user_id, claims.role, claims.session_id) == (user_id, "publisher", session_id)
    assert claims.jti == issued.jti
    assert abs((claims.expires_at - issued.expires_at).total_seconds()) < 1


def test_every_access_token_has_its_own_jti() -> None:
    now = datetime.now(UTC)
    a = codec().issue_access(uuid.uuid4(), "consumer", uuid.uuid4(), now)
    b = codec().issue_access(uuid.uuid4(), "consumer", uuid.uuid4(), now)
    assert a.jti != b.jti


def test_expired_access_token_is_refused_as_expired() -> None:
    past = datetime.now(UTC) - timedelta(hours=1)
    issued = codec(access_ttl_s=60).issue_access(uuid.uuid4(), "consumer", uuid.uuid4(), past)
    with pytest.raises(TokenExpired):
        codec().decode_access(issued.token)


def test_token_signed_with_another_secret_is_invalid() -> None:
    issued = TokenCodec("x" * 48, 900, 3600).issue_access(
        uuid.uuid4(), "admin", uuid.uuid4(), datetime.now(UTC)
    )
    with pytest.raises(InvalidToken):
        codec().decode_access(issued.token)


def test_unsigned_token_is_invalid() -> None:
    forged = jwt.encode({"sub": str(uuid.uuid4()), "role": "admin"}, key=None, algorithm="none")
    with pytest.raises(InvalidToken):
        codec().decode_access(forged)


def test_verification_token_is_not_an_access_token_and_vice_versa() -> None:
    now = datetime.now(UTC)
    verify = codec().issue_email_verification(uuid.uuid4(), "a@example.com", now)
    access = codec().issue_access(uuid.uuid4(), "consumer", uuid.uuid4(), now)
    with pytest.raises(InvalidToken):
        codec().decode_access(verify)
    with pytest.raises(InvalidToken):
        codec().decode_email_verification(access.token)


def test_verification_token_carries_user_and_email() -> None:
    user_id = uuid.uuid4()
    token = codec().issue_email_verification(user_id, "a@example.com", datetime.now(UTC))
    assert codec().decode_email_verification(token) == (user_id, "a@example.com")
