"""The notification log on real PostgreSQL: the composition root's recorder reads it in
order as the library does, and the workers find it through their port."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from commands.accounts import AccountCommands
from commands.event_store import EventStore
from domain.user import Role
from infra.notification_log import OrderedPostgresRecorder
from infra.settings import Settings
from infra.stores import event_store_env
from workers.notifications import OrderedNotifications, notifications_after, read_after

pytestmark = pytest.mark.services("postgres")


@pytest.fixture
def app(fresh_database_url: str, tmp_path: Any) -> Iterator[EventStore]:
    settings = Settings(profile="embedded", database_url=fresh_database_url, data_dir=tmp_path)
    cluster = settings.model_copy(update={"profile": "cluster"})  # its event store only
    store = EventStore(env=event_store_env(cluster))
    yield store
    store.close()


def test_the_cluster_reads_its_log_through_the_recorder_the_root_chose(app: EventStore) -> None:
    assert isinstance(app.recorder, OrderedPostgresRecorder)
    assert isinstance(app.recorder, OrderedNotifications)
    accounts = AccountCommands(app)
    for n in range(5):
        accounts.register_user(f"u{n}@example.com", "$argon2id$x", Role.CONSUMER)
    library = app.recorder.select_notifications(start=1, limit=100)
    assert len(library) >= 5
    assert list(notifications_after(app, 0, 100)) == library
    middle = library[2].id
    assert list(notifications_after(app, middle, 2)) == library[3:5]
    assert notifications_after(app, library[-1].id, 10) == []
    assert [p for p, _ in read_after(app, 0, 100)] == [n.id for n in library]
