from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from domain.api_key import ApiKey, check_scopes
from domain.errors import Conflict, InvalidInput
from domain.login_session import LoginSession, RefreshTokenInvalid, RefreshTokenReused
from domain.user import AccountDeactivated, Role, User, normalise_email, parse_role

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def new_user(email: str = "ada@example.com") -> User:
    return User(email=email, password_hash="$argon2id$...", role="consumer")


def test_user_id_is_derived_from_the_normalised_email() -> None:
    assert new_user(normalise_email(" Ada@Example.COM ")).id == User.create_id("ada@example.com")


def test_user_starts_unverified_and_verifies_once() -> None:
    user = new_user()
    assert not user.verified
    user.verify_email()
    user.verify_email()
    assert user.verified
    assert [type(e).__name__ for e in user.collect_events()] == ["Registered", "EmailVerified"]


def test_role_change_to_the_same_role_records_nothing() -> None:
    user = new_user()
    user.collect_events()
    user.change_role(Role.CONSUMER)
    assert user.collect_events() == []
    user.change_role(Role.PUBLISHER)
    assert user.role == "publisher"


def test_deactivated_user_cannot_change_and_cannot_be_deactivated_twice() -> None:
    user = new_user()
    user.deactivate()
    with pytest.raises(AccountDeactivated):
        user.change_password("new")
    with pytest.raises(Conflict):
        user.deactivate()


def test_unknown_role_is_invalid_input() -> None:
    with pytest.raises(InvalidInput):
        parse_role("superuser")


def test_key_scopes_are_checked_and_sorted() -> None:
    assert check_scopes(["inference", "models:read", "inference"]) == ["inference", "models:read"]
    with pytest.raises(InvalidInput):
        check_scopes(["everything"])
    with pytest.raises(InvalidInput):
        check_scopes([])


def new_key(expires_at: datetime | None = None) -> ApiKey:
    return ApiKey(
        key_hash="ab" * 32,
        owner_id=uuid.uuid4(),
        name="ci",
        scopes=["inference"],
        display_prefix="aimpk_abcd",
        expires_at=expires_at,
    )


def test_key_is_usable_until_it_expires_or_is_revoked() -> None:
    key = new_key(expires_at=NOW + timedelta(days=1))
    assert key.is_usable(NOW)
    assert not key.is_usable(NOW + timedelta(days=1))
    key.revoke()
    assert not key.is_usable(NOW)


def test_key_use_is_recorded_at_most_once_a_minute() -> None:
    key = new_key()
    assert key.use_is_due(NOW)
    key.record_use(NOW)
    assert not key.use_is_due(NOW + timedelta(seconds=59))
    assert key.use_is_due(NOW + timedelta(seconds=60))


def new_session() -> LoginSession:
    return LoginSession(
        id=uuid.uuid4(),
        user_id=uuid.uuid4(),
        token_hash="h1",
        expires_at=NOW + timedelta(days=30),
        access_jti="j1",
        access_expires_at=NOW + timedelta(minutes=15),
    )


def test_refresh_rotates_and_the_old_token_then_counts_as_reuse() -> None:
    session = new_session()
    session.check_refresh("h1", NOW)
    session.rotate("h2", "j2", NOW + timedelta(minutes=30))
    session.check_refresh("h2", NOW)
    with pytest.raises(RefreshTokenReused):
        session.check_refresh("h1", NOW)


def test_refresh_with_unknown_or_expired_token_is_invalid() -> None:
    session = new_session()
    with pytest.raises(RefreshTokenInvalid):
        session.check_refresh("other", NOW)
    with pytest.raises(RefreshTokenInvalid):
        session.check_refresh("h1", NOW + timedelta(days=31))


def test_revoked_session_refuses_even_its_current_token() -> None:
    session = new_session()
    session.revoke("logout")
    with pytest.raises(RefreshTokenInvalid):
        session.check_refresh("h1", NOW)


def test_live_access_tokens_leave_out_expired_ones() -> None:
    session = new_session()
    session.rotate("h2", "j2", NOW + timedelta(hours=1))
    assert set(session.live_access_tokens(NOW + timedelta(minutes=20))) == {"j2"}
