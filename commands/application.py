"""The write side: one eventsourcing Application whose public methods are the commands.

Every command loads aggregates, calls their methods and saves them together;
it returns ids and the event position, never a read model.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, Recording
from eventsourcing.utils import get_topic

from commands.conflicts import ConcurrentUpdate
from domain.admin_roster import AdminRoster, check_not_self
from domain.api_key import ApiKey, check_scopes
from domain.errors import Conflict, NotFound
from domain.login_session import LoginSession, RefreshTokenInvalid, RefreshTokenReused
from domain.model import Model
from domain.user import Role, User, check_display_name, normalise_email

A = TypeVar("A", bound=Aggregate)


@dataclass(frozen=True)
class Written:
    """What a command returns: the aggregate it touched and the event position it reached."""

    id: UUID
    position: int


class Marketplace(Application[UUID]):
    name = "Marketplace"
    snapshotting_intervals = {  # noqa: RUF012 (library API)
        User: 100,
        ApiKey: 100,
        Model: 100,
        AdminRoster: 100,
    }

    def __init__(self, env: dict[str, str] | None = None) -> None:
        super().__init__(env)
        # Called with the last position after every save: the embedded runner wakes on it.
        self.on_saved: list[Callable[[int], None]] = []

    def _notify(self, recordings: list[Recording[UUID]]) -> None:
        if recordings:
            position = max(r.notification.id for r in recordings)
            for listener in self.on_saved:
                listener(position)

    def _save(self, subject: Aggregate, *others: Aggregate) -> Written:
        """Save together. An aggregate that was changed meanwhile by someone else raises
        `ConcurrentUpdate` (the command is run again); a new aggregate whose id exists
        already raises `IntegrityError`, which the command turns into its own conflict."""
        loaded = {a.id: a.version - len(a.pending_events) for a in (subject, *others)}
        try:
            recordings = self.save(subject, *others)
        except IntegrityError:
            if any(self._changed_since(id_, version) for id_, version in loaded.items() if version):
                raise ConcurrentUpdate(
                    "this was changed by someone else at the same moment; try again"
                ) from None
            raise
        position = max((r.notification.id for r in recordings), default=0)
        return Written(subject.id, position)

    def _changed_since(self, aggregate_id: UUID, version: int) -> bool:
        latest = self.recorder.select_events(aggregate_id, desc=True, limit=1)
        return bool(latest) and latest[0].originator_version > version

    def load(self, cls: type[A], aggregate_id: UUID, version: int | None = None) -> A:
        try:
            aggregate: Aggregate = self.repository.get(aggregate_id, version=version)
        except AggregateNotFoundError:
            raise NotFound(f"no {cls.__name__} {aggregate_id}") from None
        if not isinstance(aggregate, cls):
            raise NotFound(f"no {cls.__name__} {aggregate_id}")
        return aggregate

    def load_any(self, aggregate_id: UUID, version: int | None = None) -> Any:
        return self.load(Aggregate, aggregate_id, version)

    def history(self, aggregate_id: UUID, after_version: int = 0, limit: int = 100) -> list[Any]:
        """Stored events of one aggregate after `after_version`, oldest first (audit)."""
        return list(
            self.repository.event_store.get(aggregate_id, gt=after_version or None, limit=limit)
        )

    # Users

    def register_user(
        self, email: str, password_hash: str, role: Role, display_name: str = ""
    ) -> Written:
        if display_name:
            check_display_name(display_name)
        # An account made before NFKC normalisation may sit at its older id.
        if self.find_user_by_email(email) is not None:
            raise Conflict("an account with this email already exists", code="email_taken")
        user = User(
            email=normalise_email(email),
            password_hash=password_hash,
            role=role.value,
            display_name=display_name,
        )
        try:
            return self._save(user)
        except IntegrityError:
            raise Conflict(
                "an account with this email already exists", code="email_taken"
            ) from None

    def find_user_by_email(self, email: str) -> User | None:
        """The account of an email however it is typed (normalised here, for every caller)."""
        for user_id in User.ids_for_email(email):
            with contextlib.suppress(NotFound):
                return self.load(User, user_id)
        return None

    def verify_email(self, user_id: UUID) -> Written:
        user = self.load(User, user_id)
        user.verify_email()
        return self._save(user)

    def change_password(self, user_id: UUID, password_hash: str) -> Written:
        user = self.load(User, user_id)
        user.change_password(password_hash)
        return self._save(user)

    def rename_user(self, user_id: UUID, display_name: str) -> Written:
        user = self.load(User, user_id)
        user.rename(display_name)
        return self._save(user)

    # Admin actions: `by` is the acting admin, None the operator's command line.

    def change_role(self, user_id: UUID, role: Role, by: UUID | None = None) -> Written:
        if role is not Role.ADMIN:
            check_not_self(by, user_id)
        user, roster = self._admin_action(user_id, by)
        was_admin = user.role == Role.ADMIN
        user.change_role(role, by)
        return self._save_standing(user, roster, was_admin)

    def deactivate_user(self, user_id: UUID, by: UUID | None = None) -> Written:
        check_not_self(by, user_id)
        user, roster = self._admin_action(user_id, by)
        user.deactivate(by)
        return self._save_standing(user, roster, user.role == Role.ADMIN)

    def reactivate_user(self, user_id: UUID, by: UUID | None = None) -> Written:
        user, roster = self._admin_action(user_id, by)
        user.reactivate(by)
        return self._save_standing(user, roster, user.role == Role.ADMIN)

    def _admin_action(self, user_id: UUID, by: UUID | None) -> tuple[User, AdminRoster | None]:
        """The account, and the roster when an admin acts: they must be one now."""
        roster = None
        if by is not None:
            roster = self.admin_roster()
            roster.check_acting(by)
        return self.load(User, user_id), roster

    def _save_standing(self, user: User, roster: AdminRoster | None, was_admin: bool) -> Written:
        """Save the account with the roster brought in line with it, in one save. A change
        that makes or unmakes no admin, by the operator, leaves the roster alone."""
        is_admin = user.role == Role.ADMIN and not user.deactivated
        if roster is None and (was_admin or is_admin):
            roster = self.admin_roster()
        if roster is not None:
            if is_admin:
                roster.admit(user.id)
            else:
                roster.dismiss(user.id)  # refused for the last admin
        if roster is None or not roster.pending_events:
            return self._save(user)
        try:
            return self._save(user, roster)
        except IntegrityError:
            # Left over by `_save`: only a roster started by someone else at the same moment.
            raise ConcurrentUpdate("the admin roster was just started; try again") from None

    def admin_roster(self) -> AdminRoster:
        """The roster; on first need, started from the admins already stored."""
        try:
            return self.load(AdminRoster, AdminRoster.create_id())
        except NotFound:
            return AdminRoster(admin_ids=self._stored_admins())

    def _stored_admins(self) -> list[UUID]:
        """Scans the accounts whose role ever changed: admins are only made that way."""
        topics = [get_topic(User.RoleChanged)]
        candidates: set[UUID] = set()
        start: int | None = None
        while page := self.recorder.select_notifications(start, 500, topics=topics):
            candidates.update(UUID(str(n.originator_id)) for n in page)
            start = page[-1].id + 1
        users = (self.load(User, user_id) for user_id in candidates)
        return [u.id for u in users if u.role == Role.ADMIN and not u.deactivated]

    # API keys

    def create_api_key(
        self,
        owner_id: UUID,
        key_hash: str,
        name: str,
        scopes: list[str],
        display_prefix: str,
        expires_at: datetime | None,
    ) -> Written:
        owner = self.load(User, owner_id)
        key = ApiKey(
            key_hash=key_hash,
            owner_id=owner_id,
            name=name,
            scopes=check_scopes(scopes),
            display_prefix=display_prefix,
            expires_at=expires_at,
        )
        owner.add_api_key(key.id)
        return self._save(key, owner)

    def owned_api_key(self, owner_id: UUID, key_id: UUID) -> ApiKey:
        """Someone else's key is reported as missing, never as forbidden."""
        key = self.load(ApiKey, key_id)
        if key.owner_id != owner_id:
            raise NotFound(f"no ApiKey {key_id}")
        return key

    def revoke_api_key(self, owner_id: UUID, key_id: UUID) -> Written:
        key = self.owned_api_key(owner_id, key_id)
        key.revoke()
        return self._save(key)

    def rotate_api_key(
        self, owner_id: UUID, key_id: UUID, new_key_hash: str, new_display_prefix: str
    ) -> Written:
        """Revoke the old key and issue its replacement with the same name, scopes and expiry."""
        old = self.owned_api_key(owner_id, key_id)
        if old.revoked:
            raise Conflict("a revoked key cannot be rotated", code="key_revoked")
        owner = self.load(User, owner_id)
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
        return self._save(new, old, owner)

    def record_api_key_use(self, key_id: UUID, at: datetime) -> None:
        key = self.load(ApiKey, key_id)
        if not key.use_is_due(at):
            return
        key.record_use(at)
        # A conflict means another process recorded a use of this key just now: one is enough.
        with contextlib.suppress(IntegrityError):
            self.save(key)

    # Login sessions (refresh-token families)

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
        return self._save(session)

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
        session = self.load(LoginSession, session_id)
        try:
            session.check_refresh(presented_hash, now)
        except RefreshTokenReused:
            session.revoke("refresh_token_reused")
            self.save(session)
            raise
        session.rotate(new_hash, access_jti, access_expires_at)
        try:
            self.save(session)
        except IntegrityError:
            raise RefreshTokenInvalid("this refresh token was just used; log in again") from None
        return session

    def end_session(self, session_id: UUID, reason: str) -> LoginSession:
        session = self.load(LoginSession, session_id)
        session.revoke(reason)
        self.save(session)
        return session
