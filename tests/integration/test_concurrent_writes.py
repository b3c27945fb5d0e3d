"""Two writers on one aggregate: the command that loses the race runs again on fresh
state, and only when its attempts are spent answers 409 `concurrent_update`, never 500."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from commands.conflicts import ATTEMPTS
from domain.model import Model
from domain.principal import Principal
from infra.bootstrap import Container
from tests.integration.test_model_registry import create
from tests.support import Account, verified_account


@pytest.fixture
def publisher(client: TestClient, outbox: Path) -> Account:
    return verified_account(client, outbox, role="publisher")


def rival_saves_first(
    container: Container, monkeypatch: pytest.MonkeyPatch, model_id: UUID, times: int
) -> Callable[[], int]:
    """Before each of the next `times` saves of the model, another writer (the stats
    roll-up) saves it first, as if it had loaded the model at the same moment."""
    app, left, rivals = container.app, [times], [0]
    save = app.save

    def racing_save(*objects: Any, **kwargs: Any) -> Any:
        if left[0] and any(getattr(o, "id", None) == model_id for o in objects):
            left[0] -= 1
            rivals[0] += 1
            rival = app.repository.get(model_id)
            rival.update_stats({"invocations_7d": rivals[0]})
            save(rival)
        return save(*objects, **kwargs)

    monkeypatch.setattr(app, "save", racing_save)
    return lambda: rivals[0]


def test_a_patch_that_loses_a_race_with_the_stats_roll_up_is_applied_on_fresh_state(
    client: TestClient, container: Container, publisher: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    model_id = UUID(create(client, publisher))
    rival_saves_first(container, monkeypatch, model_id, times=2)
    response = client.patch(
        f"/v1/models/{model_id}", json={"name": "Renamed"}, headers=publisher.headers
    )
    assert response.status_code == 200, response.text
    model = container.app.load(Model, model_id)
    assert model.name == "Renamed" and model.stats == {"invocations_7d": 2}  # both writes kept


def test_a_race_lost_on_every_attempt_is_409_concurrent_update_and_changes_nothing(
    client: TestClient, container: Container, publisher: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    model_id = UUID(create(client, publisher))
    rivals = rival_saves_first(container, monkeypatch, model_id, times=ATTEMPTS + 5)
    response = client.patch(
        f"/v1/models/{model_id}", json={"name": "Renamed"}, headers=publisher.headers
    )
    assert response.status_code == 409, response.text
    assert response.json()["error"]["code"] == "concurrent_update"
    assert rivals() == ATTEMPTS  # each attempt reloaded and tried again, then it gave up
    assert container.app.load(Model, model_id).name == "ResNet 50"


def test_writers_racing_on_one_model_in_threads_all_succeed(
    client: TestClient, container: Container, publisher: Account
) -> None:
    model_id = UUID(create(client, publisher))
    before = container.app.load(Model, model_id).version
    caller = Principal(UUID(publisher.id), "publisher", verified=True, via="jwt")
    writers = 6

    def rename(n: int) -> int:
        changes = {"description": f"written by writer {n}"}
        return container.model_commands.update_details(caller, model_id, changes).position

    with ThreadPoolExecutor(writers) as pool:
        positions = list(pool.map(rename, range(writers)))
    assert len(set(positions)) == writers
    assert container.app.load(Model, model_id).version == before + writers
