"""The User aggregate: an account that logs in, publishes or consumes models."""

from __future__ import annotations

from enum import StrEnum
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import Conflict, Forbidden, InvalidInput

USER_NAMESPACE = uuid5(NAMESPACE_URL, "https://aimarket.dev/ns/user")


class Role(StrEnum):
    PUBLISHER = "publisher"
    CONSUMER = "consumer"
    ADMIN = "admin"


class AccountDeactivated(Forbidden):
    code = "account_deactivated"


def normalise_email(email: str) -> str:
    """One account per mailbox, whatever the capitalisation it is typed with."""
    return email.strip().lower()


def parse_role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        allowed = ", ".join(r.value for r in Role)
        raise InvalidInput(f"unknown role {value!r}; use one of: {allowed}") from None


class User(Aggregate):
    """Addressed by a uuid5 of the normalised email, so a duplicate email is a
    version conflict in the event store rather than a race in a read model."""

    @staticmethod
    def create_id(email: str) -> UUID:
        return uuid5(USER_NAMESPACE, email)

    @event("Registered")
    def __init__(self, email: str, password_hash: str, role: str, display_name: str = "") -> None:
        self.email = email
        self.password_hash = password_hash
        self.role = role
        self.display_name = display_name
        self.verified = False
        self.deactivated = False
        self.api_key_ids: list[UUID] = []

    @property
    def public_name(self) -> str:
        """What others see (a publisher's name in the catalogue); never the email."""
        return self.display_name or f"user-{str(self.id)[:8]}"

    def rename(self, display_name: str) -> None:
        self.check_active()
        if display_name != self.display_name:
            self._renamed(display_name)

    @event("Renamed")
    def _renamed(self, display_name: str) -> None:
        self.display_name = display_name

    def check_active(self) -> None:
        if self.deactivated:
            raise AccountDeactivated("this account has been deactivated")

    def verify_email(self) -> None:
        self.check_active()
        if not self.verified:
            self._email_verified()

    @event("EmailVerified")
    def _email_verified(self) -> None:
        self.verified = True

    def change_password(self, password_hash: str) -> None:
        self.check_active()
        self._password_changed(password_hash)

    @event("PasswordChanged")
    def _password_changed(self, password_hash: str) -> None:
        self.password_hash = password_hash

    def change_role(self, role: Role) -> None:
        self.check_active()
        if role != self.role:
            self._role_changed(role.value)

    @event("RoleChanged")
    def _role_changed(self, role: str) -> None:
        self.role = role

    def deactivate(self) -> None:
        if self.deactivated:
            raise Conflict("this account is already deactivated", code="already_deactivated")
        self._deactivated()

    @event("Deactivated")
    def _deactivated(self) -> None:
        self.deactivated = True

    def add_api_key(self, key_id: UUID) -> None:
        self.check_active()
        self._api_key_added(key_id)

    @event("ApiKeyAdded")
    def _api_key_added(self, key_id: UUID) -> None:
        self.api_key_ids.append(key_id)
