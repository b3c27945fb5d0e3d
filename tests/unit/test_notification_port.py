"""Elsewhere than PostgreSQL the workers read the log through the library's own call."""

from __future__ import annotations

from commands.accounts import AccountCommands
from commands.event_store import EventStore
from domain.user import Role
from workers.notifications import OrderedNotifications, notifications_after


def test_a_recorder_without_the_fast_read_is_read_through_the_library() -> None:
    app = EventStore(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    assert not isinstance(app.recorder, OrderedNotifications)
    accounts = AccountCommands(app)
    for n in range(3):
        accounts.register_user(f"u{n}@example.com", "$argon2id$x", Role.CONSUMER)
    found = notifications_after(app, 1, 10)
    assert [n.id for n in found] == [n.id for n in app.recorder.select_notifications(2, 10)]
