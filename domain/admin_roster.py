"""The admin roster: who administers the platform, kept so that nobody can lock it out.

"Is this the last active admin?" is a question about many accounts, and a read model
could be raced into zero: two admins demoting each other at the same moment both see
another admin left. So the roster is one aggregate with a fixed id, changed in the same
save as the account whose admin standing changes; of two such saves one loses on the
roster's version and is run again on fresh state, where the rule refuses it.
"""

from __future__ import annotations

from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import Conflict, Forbidden

ROSTER_ID = uuid5(NAMESPACE_URL, "https://aimarket.dev/ns/admin-roster")


class LastAdmin(Conflict):
    code = "last_admin"


class OwnAccount(Forbidden):
    code = "own_account"


class NotAnAdmin(Forbidden):
    code = "forbidden"


class AdminRoster(Aggregate):
    """The set of active admins. Made on first need from the accounts already stored."""

    @staticmethod
    def create_id() -> UUID:
        return ROSTER_ID

    @event("Started")
    def __init__(self, admin_ids: list[UUID]) -> None:
        self.admin_ids = sorted(set(admin_ids))

    def includes(self, user_id: UUID) -> bool:
        return user_id in self.admin_ids

    def check_acting(self, actor: UUID) -> None:
        """The acting admin is one now, not only when their token was issued."""
        if not self.includes(actor):
            raise NotAnAdmin("only an active admin can do this")

    def admit(self, user_id: UUID) -> None:
        if not self.includes(user_id):
            self._admitted(user_id)

    @event("Admitted")
    def _admitted(self, user_id: UUID) -> None:
        self.admin_ids = sorted({*self.admin_ids, user_id})

    def dismiss(self, user_id: UUID) -> None:
        if not self.includes(user_id):
            return
        if len(self.admin_ids) == 1:
            raise LastAdmin("this is the last active admin; appoint another admin first")
        self._dismissed(user_id)

    @event("Dismissed")
    def _dismissed(self, user_id: UUID) -> None:
        self.admin_ids = [a for a in self.admin_ids if a != user_id]


def check_not_self(actor: UUID | None, target: UUID) -> None:
    """An admin neither demotes nor deactivates their own account: another admin must."""
    if actor == target:
        raise OwnAccount("an admin cannot demote or deactivate their own account")
