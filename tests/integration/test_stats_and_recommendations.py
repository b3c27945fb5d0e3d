"""Usage and ratings rolled up into each model's figures, and "consumers who used X also
used Y" recommendations, on both profiles: in process (embedded), and through the relay,
the projection worker and `aimarket worker stats` (cluster)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from commands.event_store import Written
from domain.model import Model
from domain.review import Review
from infra import cli
from infra.bootstrap import Container
from infra.settings import Settings
from tests.pipeline import settings_env, wait_until
from tests.support import Account, ConsistentClient, verified_account


def day(ago: int) -> str:
    # The stats worker of the cluster profile runs on the system clock: so do these days.
    return (datetime.now(UTC).date() - timedelta(days=ago)).isoformat()


def unique(word: str) -> str:
    return f"{word}-{uuid4().hex[:8]}"


@pytest.fixture
def publisher(client: TestClient, outbox: Path) -> Account:
    return verified_account(client, outbox, role="publisher")


def model(
    client: TestClient,
    container: Container,
    owner: Account,
    name: str,
    publish: bool = True,
    **details: Any,
) -> str:
    body = {"slug": unique("m"), "name": name, "visibility": "public", **details}
    created = client.post("/v1/models", json=body, headers=owner.headers)
    assert created.status_code == 201, created.text
    model_id = str(created.json()["id"])
    if publish:
        aggregate = container.app.load(Model, UUID(model_id))
        aggregate.upload_version("1.0.0", "sha256:" + "a" * 64, 100, uuid4())
        aggregate.validate_version("1.0.0", "onnx", {"inputs": [], "outputs": []})
        container.app.save(aggregate)
        published = client.post(
            f"/v1/models/{model_id}/versions/1.0.0/publish", headers=owner.headers
        )
        assert published.status_code == 200, published.text
    return model_id


def use(
    client: TestClient, container: Container, consumer: UUID, model_id: str, ago: int, calls: int
) -> Written:
    written = container.usage.record_usage(consumer, UUID(model_id), day(ago), calls, calls)
    assert isinstance(client, ConsistentClient)
    client.position = max(client.position, written.position)  # later GETs wait for it
    return written


def review(container: Container, model_id: str, rating: int, hidden: bool = False) -> None:
    at = datetime.now(UTC)
    written = Review(
        model_id=UUID(model_id), consumer_id=uuid4(), publisher_id=uuid4(), reviewer_name="R",
        version="1.0.0", rating=rating, title="fine", body="", at=at,
    )  # fmt: skip
    if hidden:
        written.hide(uuid4(), "abusive", at)
    container.app.save(written)


def stats_of(container: Container, model_id: str) -> dict[str, int]:
    return container.app.load(Model, UUID(model_id)).stats


def test_usage_and_visible_ratings_are_rolled_up_into_the_model(
    client: TestClient, container: Container, publisher: Account
) -> None:
    model_id = model(client, container, publisher, "Roll-up")
    a, b, c = uuid4(), uuid4(), uuid4()
    use(client, container, a, model_id, 0, 5)
    use(client, container, a, model_id, 1, 1)
    use(client, container, b, model_id, 6, 2)
    use(client, container, c, model_id, 9, 4)  # last week
    for rating in (5, 3):
        review(container, model_id, rating)
    review(container, model_id, 1, hidden=True)  # hidden: out of the summary
    expected = {
        "invocations_7d": 8, "invocations_prev_7d": 4, "invocations_total": 12,
        "consumers": 3, "trending": (8 - 4) * 1000 // 10,
        "rating_count": 2, "rating_sum": 8,
        "ratings_1": 0, "ratings_2": 0, "ratings_3": 1, "ratings_4": 0, "ratings_5": 1,
    }  # fmt: skip
    wait_until(lambda: stats_of(container, model_id) == expected, 60, "the model's stats")

    # More usage moves them on: the roll-up follows every new event.
    use(client, container, c, model_id, 0, 10)
    wait_until(lambda: stats_of(container, model_id).get("invocations_7d") == 18, 60, "new usage")


def test_consumers_who_used_x_also_used_y_rank_above_one_who_used_z(
    client: TestClient, container: Container, publisher: Account
) -> None:
    task, tag = unique("task"), unique("tag")
    x = model(client, container, publisher, "Source X", task=task, tags=[tag])
    y = model(client, container, publisher, "Often with X", task=unique("task"))
    z = model(client, container, publisher, "Once with X", task=unique("task"))
    similar = model(client, container, publisher, "Like X", task=task, tags=[tag, unique("tag")])
    tagged = model(client, container, publisher, "Tagged like X", tags=[tag])
    private = model(client, container, publisher, "Private", visibility="private")
    draft = model(client, container, publisher, "Draft", publish=False)
    a, b, c = uuid4(), uuid4(), uuid4()
    for consumer in (a, b, c):
        use(client, container, consumer, x, 0, 1)
    for consumer in (a, b):
        for other in (y, private, draft):
            use(client, container, consumer, other, 0, 1)
    use(client, container, c, z, 0, 1)

    response = client.get(f"/v1/models/{x}/recommendations")
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    by_id = {item["model"]["id"]: item for item in items}
    ranked = [item["model"]["id"] for item in items]
    assert ranked[0] == y and ranked.index(y) < ranked.index(z)
    assert by_id[y]["reason"] == "2 consumers who used Source X also used this"
    assert by_id[z]["reason"] == "1 consumer who used Source X also used this"
    assert by_id[similar]["reason"] == f"Also {task}; shares tags {tag}"
    assert by_id[tagged]["reason"] == f"Shares tags {tag}"
    assert by_id[similar]["model"] == {
        "id": similar, "name": "Like X", "slug": by_id[similar]["model"]["slug"],
        "publisher_name": by_id[y]["model"]["publisher_name"], "task": task,
        "tags": by_id[similar]["model"]["tags"],
    }  # fmt: skip
    assert by_id[y]["score"] > by_id[z]["score"] > 0
    # Private and unpublished models are never recommended, however often used.
    assert private not in by_id and draft not in by_id and x not in by_id

    limited = client.get(f"/v1/models/{x}/recommendations", params={"limit": 1})
    assert [item["model"]["id"] for item in limited.json()["items"]] == [y]


def test_recommendations_of_a_model_the_caller_cannot_see_are_missing(
    client: TestClient, container: Container, publisher: Account, outbox: Path
) -> None:
    private = model(client, container, publisher, "Hidden", visibility="private")
    stranger = verified_account(client, outbox)
    for headers in (stranger.headers, {}):
        response = client.get(f"/v1/models/{private}/recommendations", headers=headers)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "model_not_found"
    own = client.get(f"/v1/models/{private}/recommendations", headers=publisher.headers)
    assert own.status_code == 200 and own.json() == {"items": []}
    unknown = client.get(f"/v1/models/{uuid4()}/recommendations")
    assert unknown.status_code == 404
    deleted = model(client, container, publisher, "Gone")
    assert client.delete(f"/v1/models/{deleted}", headers=publisher.headers).status_code == 200
    assert client.get(f"/v1/models/{deleted}/recommendations").status_code == 404
    bad = client.get(f"/v1/models/{private}/recommendations", params={"limit": 0})
    assert bad.status_code == 422


def test_an_operator_recomputes_a_models_figures_from_the_command_line(
    client: TestClient, container: Container, publisher: Account, settings: Settings
) -> None:
    model_id = model(client, container, publisher, "Repaired")
    use(client, container, uuid4(), model_id, 0, 3)
    wait_until(lambda: stats_of(container, model_id).get("invocations_7d") == 3, 60, "stats")
    wrong = container.app.load(Model, UUID(model_id))
    wrong.update_stats({**wrong.stats, "invocations_7d": 999})
    container.app.save(wrong)

    env = settings_env(settings)
    fixed = CliRunner().invoke(cli.app, ["models", "refresh-stats", model_id], env=env)
    assert fixed.exit_code == 0, fixed.output
    assert "figures changed for 1 model\n" in fixed.output
    assert stats_of(container, model_id)["invocations_7d"] == 3
    both = CliRunner().invoke(cli.app, ["models", "refresh-stats", "--all", model_id], env=env)
    assert both.exit_code == 2
