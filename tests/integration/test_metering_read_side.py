"""Metered calls reach what rests on the Usage aggregates, on both profiles: the review
rule, the models' figures and "consumers who used X also used Y". The roll-up runs as
each profile runs it: a thread of the container (embedded), `aimarket worker
metering`'s runner (cluster)."""

from __future__ import annotations

from pathlib import Path
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient

from infra.bootstrap import Container
from infra.settings import Settings
from tests.integration.test_metering import call
from tests.integration.test_stats_and_recommendations import model
from tests.pipeline import rolling_up, wait_until
from tests.support import Account, MovableClock, verified_account


@pytest.fixture
def publisher(client: TestClient, outbox: Path) -> Account:
    return verified_account(client, outbox, role="publisher")


def test_metered_calls_qualify_reviews_and_feed_stats_and_recommendations(
    client: TestClient,
    container: Container,
    settings: Settings,
    clock: MovableClock,
    publisher: Account,
    outbox: Path,
) -> None:
    x = model(client, container, publisher, "Metered X")
    y = model(client, container, publisher, "Metered Y")
    reviewer = verified_account(client, outbox)
    consumers = [UUID(reviewer.id), uuid4()]
    now, meter = clock.now(), container.usage_meter
    for consumer in consumers:
        for model_id in (x, y):
            for _ in range(3):
                meter.record(call(consumer, UUID(model_id), now))
    meter.record(call(consumers[0], UUID(x), now, request_id=f"dup-{x}"))
    meter.record(call(consumers[0], UUID(x), now, request_id=f"dup-{x}"))  # redelivered
    url = f"/v1/models/{x}/reviews"
    review = {"version": "1.0.0", "rating": 5, "title": "Fast", "body": ""}
    before = client.post(url, json=review, headers=reviewer.headers)
    assert before.json()["error"]["code"] == "not_a_user_of_model"

    with rolling_up(container, settings):
        wait_until(lambda: container.usage.has_used(consumers[1], UUID(y)), 60, "the roll-up")
        wait_until(
            lambda: container.model_stats.compute(x)["invocations_total"] == 7, 60, "x's figures"
        )
        # y's figures roll up in their own step: wait for them too, not only for x's.
        wait_until(
            lambda: container.model_stats.compute(y)["invocations_7d"] == 6, 60, "y's figures"
        )
    assert container.model_stats.compute(x)["consumers"] == 2
    assert container.usage.has_used(consumers[0], UUID(x))
    assert client.post(url, json=review, headers=reviewer.headers).status_code == 201

    recommended = client.get(f"/v1/models/{x}/recommendations")
    assert recommended.status_code == 200, recommended.text
    by_id = {item["model"]["id"]: item for item in recommended.json()["items"]}
    assert by_id[y]["reason"] == "2 consumers who used Metered X also used this"
