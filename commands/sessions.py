"""Login sessions (refresh-token families): start, rotate the token, end."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from commands.conflicts import CommandHandlers
from commands.event_store import EventStore, Written
from domain.login_session import LoginSession, RefreshTokenInvalid, RefreshTokenReused


class SessionCommands(CommandHandlers):
    def __init__(self, store: EventStore) -> None:
        self.store = store

    def start_session(
        self,
        session_id: UUID,
        user_id: UUID,
        token_hash: str,
        expires_at: datetime,
        access_jti: str,
        access_expires_at: datetime,
    ) -> Written:
        # The id is chosen by the caller because the refresh token it hands out embeds it.
        session = LoginSession(
            id=session_id,
            user_id=user_id,
            token_hash=token_hash,
            expires_at=expires_at,
            access_jti=access_jti,
            access_expires_at=access_expires_at,
        )
        return self.store.write(session)

    def rotate_session(
        self,
        session_id: UUID,
        presented_hash: str,
        new_hash: str,
        now: datetime,
        access_jti: str,
        access_expires_at: datetime,
    ) -> LoginSession:
        """Rotate the family's token; on reuse, revoke the family, save, and re-raise."""
        session = self.store.load(LoginSession, session_id)
        try:
            session.check_refresh(presented_hash, now)
        except RefreshTokenReused:
            session.revoke("refresh_token_reused")
            self.store.save(session)
            raise
        session.rotate(new_hash, access_jti, access_expires_at)
        try:
            self.store.save(session)
        except IntegrityError:
            raise RefreshTokenInvalid("this refresh token was just used; log in again") from None
        return session

    def end_session(self, session_id: UUID, reason: str) -> LoginSession:
        session = self.store.load(LoginSession, session_id)
        session.revoke(reason)
        self.store.save(session)
        return session
