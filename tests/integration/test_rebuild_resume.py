"""An interrupted rebuild resumes from its scratch copy instead of starting over."""

from __future__ import annotations

from pathlib import Path

import pytest

from domain.user import Role
from infra.bootstrap import build_container
from infra.settings import Settings
from workers import rebuild as rebuilding
from workers.rebuild import all_documents, rebuild


class Interrupted(Exception):
    pass


def test_interrupted_rebuild_resumes_and_ends_identical(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    container = build_container(Settings(profile="embedded", data_dir=tmp_path))
    for i in range(30):
        user = container.account_commands.register_user(f"r{i}@example.com", "$x", Role.CONSUMER)
        container.account_commands.change_role(user.id, Role.PUBLISHER)
    assert container.read.runner is not None
    container.read.runner.run_until_idle()
    live = all_documents(container.read.store, "users")
    monkeypatch.setattr(rebuilding, "BATCH", 10)  # several batches, so it can stop midway

    def stop_after_first_batch(position: int, end: int) -> None:
        raise Interrupted

    with pytest.raises(Interrupted):
        rebuild(
            container.app,
            container.read.store,
            container.read.search,
            "users",
            stop_after_first_batch,
        )
    (scratch,) = container.read.store.collections("users__rebuild_")
    assert 0 < len(all_documents(container.read.store, scratch)) < len(live)

    resumed = rebuild(
        container.app, container.read.store, container.read.search, "users", lambda *_: None
    )
    assert resumed.events == 60 - 10  # the first batch was not replayed
    assert container.read.store.collections("users__rebuild_") == []
    assert all_documents(container.read.store, "users") == live
    container.close()
