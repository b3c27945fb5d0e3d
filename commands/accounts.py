"""Accounts: the commands on users and the admin roster, and a cached, read-only view of
a user for the per-request authentication path."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from uuid import UUID

from eventsourcing.persistence import IntegrityError
from eventsourcing.utils import get_topic

from commands.cache import TtlCache
from commands.conflicts import CommandHandlers, ConcurrentUpdate
from commands.event_store import EventStore, Written
from domain.admin_roster import AdminRoster, check_not_self
from domain.errors import Conflict, NotFound
from domain.user import Role, User, check_display_name, normalise_email


@dataclass(frozen=True)
class Account:
    id: UUID
    email: str
    role: str
    verified: bool
    deactivated: bool
    version: int

    @classmethod
    def of(cls, user: User) -> Account:
        return cls(user.id, user.email, user.role, user.verified, user.deactivated, user.version)


class AccountLookup:
    def __init__(self, app: EventStore, ttl_s: float) -> None:
        self._app = app
        self._cache: TtlCache[UUID, Account] = TtlCache(ttl_s)

    def get(self, user_id: UUID) -> Account | None:
        account = self._cache.get(user_id)
        if account is None:
            try:
                account = Account.of(self._app.load(User, user_id))
            except NotFound:
                return None
            self._cache.put(user_id, account)
        return account

    def cached(self, user_id: UUID) -> Account | None:
        return self._cache.get(user_id)

    def forget(self, user_id: UUID) -> None:
        self._cache.invalidate(user_id)


class AccountCommands(CommandHandlers):
    """Register, verify, change password, rename; and the admin actions, which keep the
    admin roster in line with the accounts in the same write."""

    def __init__(self, store: EventStore) -> None:
        self.store = store

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
            return self.store.write(user)
        except IntegrityError:
            raise Conflict(
                "an account with this email already exists", code="email_taken"
            ) from None

    def find_user_by_email(self, email: str) -> User | None:
        """The account of an email however it is typed (normalised here, for every caller)."""
        for user_id in User.ids_for_email(email):
            with contextlib.suppress(NotFound):
                return self.store.load(User, user_id)
        return None

    def verify_email(self, user_id: UUID) -> Written:
        user = self.store.load(User, user_id)
        user.verify_email()
        return self.store.write(user)

    def change_password(self, user_id: UUID, password_hash: str) -> Written:
        user = self.store.load(User, user_id)
        user.change_password(password_hash)
        return self.store.write(user)

    def rename_user(self, user_id: UUID, display_name: str) -> Written:
        user = self.store.load(User, user_id)
        user.rename(display_name)
        return self.store.write(user)

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
        return self.store.load(User, user_id), roster

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
            return self.store.write(user)
        try:
            return self.store.write(user, roster)
        except IntegrityError:
            # Left over by `write`: only a roster started by someone else at the same moment.
            raise ConcurrentUpdate("the admin roster was just started; try again") from None

    def admin_roster(self) -> AdminRoster:
        """The roster; on first need, started from the admins already stored."""
        try:
            return self.store.load(AdminRoster, AdminRoster.create_id())
        except NotFound:
            return AdminRoster(admin_ids=self._stored_admins())

    def _stored_admins(self) -> list[UUID]:
        """Scans the accounts whose role ever changed: admins are only made that way."""
        topics = [get_topic(User.RoleChanged)]
        candidates: set[UUID] = set()
        start: int | None = None
        while page := self.store.recorder.select_notifications(start, 500, topics=topics):
            candidates.update(UUID(str(n.originator_id)) for n in page)
            start = page[-1].id + 1
        users = (self.store.load(User, user_id) for user_id in candidates)
        return [u.id for u in users if u.role == Role.ADMIN and not u.deactivated]
