"""The User aggregate: an account that logs in, publishes or consumes models."""

from __future__ import annotations

import unicodedata
from enum import StrEnum
from typing import Any
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


MAX_DISPLAY_NAME = 60
# Control, format (bidi overrides, zero-width), surrogate, private-use and unassigned code
# points, and line or paragraph separators: invisible or layout-breaking in a public name.
_REFUSED_IN_NAMES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def normalise_email(email: str) -> str:
    """One account per mailbox, however it is typed: NFKC folds compatibility forms
    (fullwidth `dup`, U+FF44..., is `dup`), case folding folds case. For an ASCII address this is
    exactly the old `strip().lower()`, so no existing account's id changes."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", email).casefold())
    return folded.strip()


def legacy_email_key(email: str) -> str:
    """How emails were normalised before NFKC: only non-ASCII addresses differ from
    `normalise_email`, and accounts made then keep the id derived from this."""
    return email.strip().lower()


def check_display_name(name: str) -> str:
    """A public name is printable text, no longer than MAX_DISPLAY_NAME characters."""
    if len(name) > MAX_DISPLAY_NAME:
        raise InvalidInput(f"a display name has at most {MAX_DISPLAY_NAME} characters")
    if name != name.strip():
        raise InvalidInput("a display name does not start or end with spaces")
    if any(unicodedata.category(c) in _REFUSED_IN_NAMES for c in name):
        raise InvalidInput("a display name cannot contain control or invisible characters")
    return name


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

    @staticmethod
    def ids_for_email(email: str) -> list[UUID]:
        """The account's id for an email as typed, then the id an account made before NFKC
        normalisation has (only for some non-ASCII addresses)."""
        ids = [User.create_id(normalise_email(email))]
        legacy = User.create_id(legacy_email_key(email))
        return ids if legacy in ids else [*ids, legacy]

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
        check_display_name(display_name)
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

    # Admin actions carry their actor (`by`); None is the operator's command line. Events
    # stored before version 2 did not record it and load with `by=None`.

    class RoleChanged(Aggregate.Event):
        class_version = 2
        role: str
        by: UUID | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["by"] = None

    class Deactivated(Aggregate.Event):
        class_version = 2
        by: UUID | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["by"] = None

    def change_role(self, role: Role, by: UUID | None = None) -> None:
        self.check_active()
        if role != self.role:
            self._role_changed(role.value, by)

    @event(RoleChanged)
    def _role_changed(self, role: str, by: UUID | None) -> None:
        self.role = role

    def deactivate(self, by: UUID | None = None) -> None:
        if self.deactivated:
            raise Conflict("this account is already deactivated", code="already_deactivated")
        self._deactivated(by)

    @event(Deactivated)
    def _deactivated(self, by: UUID | None) -> None:
        self.deactivated = True

    def reactivate(self, by: UUID | None = None) -> None:
        if not self.deactivated:
            raise Conflict("this account is active", code="not_deactivated")
        self._reactivated(by)

    @event("Reactivated")
    def _reactivated(self, by: UUID | None) -> None:
        self.deactivated = False

    def add_api_key(self, key_id: UUID) -> None:
        self.check_active()
        self._api_key_added(key_id)

    @event("ApiKeyAdded")
    def _api_key_added(self, key_id: UUID) -> None:
        self.api_key_ids.append(key_id)
