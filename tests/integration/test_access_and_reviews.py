"""Gated access and reviews over HTTP, on both profiles: the consumer's and the publisher's
sides, the cool-down, grants that expire, reviews only from real users, the rating
summary, moderation, and every route called by someone it does not belong to."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient

from commands.access import AccessNotGranted
from domain.access_request import DEFAULT_COOLDOWN_S, AccessRequest
from domain.model import Model
from domain.review import Review
from domain.user import Role
from infra.bootstrap import Container
from tests.review_support import publish, used
from tests.support import Account, MovableClock, login, verified_account

QUESTIONS = ["Who are you?", "What will you use it for?"]


# Query strings go in the URL: httpx drops the URL's own query (the `wait_for` that
# ConsistentClient adds) when a request also passes `params=`.


def code(response: Any) -> str:
    return str(response.json()["error"]["code"])


def create_model(client: TestClient, owner: Account, **details: Any) -> str:
    body = {"slug": f"m-{uuid4().hex[:12]}", "name": "Sentiment", "visibility": "public"}
    response = client.post("/v1/models", json={**body, **details}, headers=owner.headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def make_admin(client: TestClient, container: Container, outbox: Path) -> Account:
    account = verified_account(client, outbox)
    container.auth.change_role(UUID(account.id), Role.ADMIN)
    return login(client, account.email, account.id)


@pytest.fixture
def publisher(client: TestClient, outbox: Path) -> Account:
    return verified_account(client, outbox, role="publisher")


@pytest.fixture
def consumer(client: TestClient, outbox: Path) -> Account:
    return verified_account(client, outbox)


# Gated access


def test_gated_access_from_request_to_rejection_cooldown_approval_and_expiry(
    client: TestClient,
    container: Container,
    clock: MovableClock,
    publisher: Account,
    consumer: Account,
) -> None:
    model_id = create_model(client, publisher, gated=True, access_questions=QUESTIONS)
    url = f"/v1/models/{model_id}/access-requests"
    short = client.post(url, json={"answers": ["Ada"]}, headers=consumer.headers)
    assert (short.status_code, code(short)) == (422, "answers_mismatch")

    asked = client.post(url, json={"answers": ["Ada", "research"]}, headers=consumer.headers)
    assert asked.status_code == 201, asked.text
    request_id = asked.json()["id"]
    assert request_id == str(AccessRequest.create_id(UUID(consumer.id), UUID(model_id)))
    twice = client.post(url, json={"answers": ["Ada", "again"]}, headers=consumer.headers)
    assert (twice.status_code, code(twice)) == (409, "request_pending")

    inbox = client.get(f"{url}?status=pending", headers=publisher.headers)
    assert inbox.status_code == 200
    [item] = inbox.json()["items"]
    assert (item["id"], item["questions"], item["answers"]) == (
        request_id,
        QUESTIONS,
        ["Ada", "research"],
    )
    assert consumer.email not in inbox.text and "consumer_id" not in item
    across = client.get("/v1/access-requests?side=publisher", headers=publisher.headers)
    assert [i["id"] for i in across.json()["items"]] == [request_id]
    assert [i["id"] for i in client.get(url, headers=consumer.headers).json()["items"]] == [
        request_id
    ]
    mine = client.get("/v1/access-requests", headers=consumer.headers).json()["items"]
    assert [(i["id"], i["status"], i["model_name"]) for i in mine] == [
        (request_id, "pending", "Sentiment")
    ]

    model = container.app.load(Model, UUID(model_id))
    with pytest.raises(AccessNotGranted):
        container.access.check_granted(UUID(consumer.id), model)

    rejected = client.post(
        f"/v1/access-requests/{request_id}/reject", json={"reason": "academics only"},
        headers=publisher.headers,
    )  # fmt: skip
    assert rejected.status_code == 200
    too_early = client.post(url, json={"answers": ["Ada", "please"]}, headers=consumer.headers)
    assert (too_early.status_code, code(too_early)) == (429, "cooldown")
    assert 0 < int(too_early.headers["Retry-After"]) <= DEFAULT_COOLDOWN_S

    clock.advance(DEFAULT_COOLDOWN_S + 1)
    again = client.post(url, json={"answers": ["Ada", "a thesis"]}, headers=consumer.headers)
    assert again.status_code == 201, again.text
    expires_at = clock.now() + timedelta(days=1)
    approved = client.post(
        f"/v1/access-requests/{request_id}/approve",
        json={"expires_at": expires_at.isoformat(), "monthly_call_cap": 100},
        headers=publisher.headers,
    )
    assert approved.status_code == 200, approved.text
    container.access.check_granted(UUID(consumer.id), model)  # raises no more
    grant = container.access.grant(UUID(consumer.id), model.id, clock.now())
    assert grant is not None and (grant.expires_at, grant.monthly_call_cap) == (expires_at, 100)

    seen = client.get(f"/v1/access-requests/{request_id}", headers=consumer.headers).json()
    assert (seen["status"], seen["active"], seen["rounds"]) == ("approved", True, 2)
    steps = [(s["step"], s.get("reason")) for s in seen["history"]]
    assert steps == [
        ("requested", None),
        ("rejected", "academics only"),
        ("requested", None),
        ("approved", None),
    ]

    clock.advance(2 * 24 * 3600)
    assert not container.access.is_granted(UUID(consumer.id), model, clock.now())
    with pytest.raises(AccessNotGranted):
        container.access.check_granted(UUID(consumer.id), model)
    expired = client.get(f"/v1/access-requests/{request_id}", headers=consumer.headers).json()
    assert (expired["status"], expired["active"]) == ("approved", False)


def test_access_requests_refuse_ungated_own_and_hidden_models(
    client: TestClient, publisher: Account, consumer: Account
) -> None:
    open_model = create_model(client, publisher)
    refused = client.post(
        f"/v1/models/{open_model}/access-requests", json={"answers": []}, headers=consumer.headers
    )
    assert (refused.status_code, code(refused)) == (409, "not_gated")
    gated = create_model(client, publisher, gated=True)
    own = client.post(
        f"/v1/models/{gated}/access-requests", json={"answers": []}, headers=publisher.headers
    )
    assert (own.status_code, code(own)) == (409, "own_model")
    private = create_model(client, publisher, gated=True, visibility="private")
    hidden = client.post(
        f"/v1/models/{private}/access-requests", json={"answers": []}, headers=consumer.headers
    )
    assert (hidden.status_code, code(hidden)) == (404, "model_not_found")
    listed = client.get(f"/v1/models/{private}/access-requests", headers=consumer.headers)
    assert listed.status_code == 404


def test_nobody_else_decides_or_reads_a_request(
    client: TestClient, outbox: Path, publisher: Account, consumer: Account
) -> None:
    model_id = create_model(client, publisher, gated=True)
    asked = client.post(
        f"/v1/models/{model_id}/access-requests", json={"answers": []}, headers=consumer.headers
    )
    request_id = asked.json()["id"]
    other_publisher = verified_account(client, outbox, role="publisher")
    other_consumer = verified_account(client, outbox)
    approve, reject = (f"/v1/access-requests/{request_id}/{step}" for step in ("approve", "reject"))

    for caller in (other_publisher, consumer):  # public model: visible, not theirs
        denied = client.post(approve, json={}, headers=caller.headers)
        assert (denied.status_code, code(denied)) == (403, "not_model_owner")
    denied = client.post(reject, json={"reason": "no"}, headers=other_publisher.headers)
    assert (denied.status_code, code(denied)) == (403, "not_model_owner")
    for caller in (other_publisher, other_consumer):
        assert (
            client.get(f"/v1/access-requests/{request_id}", headers=caller.headers).status_code
            == 404
        )
        page = client.get(f"/v1/models/{model_id}/access-requests", headers=caller.headers)
        assert page.status_code == 200 and page.json()["items"] == []  # only their own: none
        assert client.get("/v1/access-requests", headers=caller.headers).json()["items"] == []

    made_private = client.patch(
        f"/v1/models/{model_id}", json={"visibility": "private"}, headers=publisher.headers
    )
    assert made_private.status_code == 200
    for url, body in ((approve, {}), (reject, {"reason": "no"})):
        missing = client.post(url, json=body, headers=other_publisher.headers)
        assert (missing.status_code, code(missing)) == (404, "model_not_found")
    listed = client.get(f"/v1/models/{model_id}/access-requests", headers=other_publisher.headers)
    assert listed.status_code == 404
    owner_sees = client.get(f"/v1/models/{model_id}/access-requests", headers=publisher.headers)
    assert [i["id"] for i in owner_sees.json()["items"]] == [request_id]


# Reviews


def test_only_real_users_review_once_each_and_may_edit(
    client: TestClient,
    container: Container,
    clock: MovableClock,
    publisher: Account,
    consumer: Account,
) -> None:
    model_id = create_model(client, publisher)
    publish(client, container, publisher, model_id)
    url = f"/v1/models/{model_id}/reviews"
    review = {"version": "1.0.0", "rating": 2, "title": "Meh", "body": "Slow on long texts"}
    stranger = client.post(url, json=review, headers=consumer.headers)
    assert (stranger.status_code, code(stranger)) == (403, "not_a_user_of_model")
    day = clock.now().date().isoformat()
    container.usage.record_usage(UUID(consumer.id), UUID(model_id), day, 3, 0)  # all failed
    assert code(client.post(url, json=review, headers=consumer.headers)) == "not_a_user_of_model"

    used(container, consumer, model_id, clock)
    unpublished = client.post(url, json={**review, "version": "1.2.0"}, headers=consumer.headers)
    assert (unpublished.status_code, code(unpublished)) == (422, "version_not_published")
    unknown = client.post(url, json={**review, "version": "9.9.9"}, headers=consumer.headers)
    assert (unknown.status_code, code(unknown)) == (404, "version_not_found")
    assert (
        client.post(url, json={**review, "rating": 6}, headers=consumer.headers).status_code == 422
    )

    created = client.post(url, json=review, headers=consumer.headers)
    assert created.status_code == 201 and created.json()["created"] is True
    assert created.json()["id"] == str(Review.create_id(UUID(consumer.id), UUID(model_id)))
    edit = {**review, "version": "1.1.0", "rating": 4, "title": "Better now"}
    edited = client.post(url, json=edit, headers=consumer.headers)
    assert edited.status_code == 200 and edited.json()["id"] == created.json()["id"]

    listing = client.get(url, headers=consumer.headers)
    [item] = listing.json()["items"]
    assert (item["version"], item["rating"], item["title"], item["edited"], item["mine"]) == (
        "1.1.0", 4, "Better now", True, True,
    )  # fmt: skip
    assert consumer.email not in listing.text and "consumer_id" not in item
    assert listing.json()["summary"] == {
        "average": 4.0, "count": 1, "histogram": {"1": 0, "2": 0, "3": 0, "4": 1, "5": 0},
    }  # fmt: skip
    own = client.post(url, json=review, headers=publisher.headers)
    assert (own.status_code, code(own)) == (403, "own_model")


def test_summary_replies_and_moderation(
    client: TestClient,
    container: Container,
    clock: MovableClock,
    outbox: Path,
    publisher: Account,
) -> None:
    model_id = create_model(client, publisher)
    publish(client, container, publisher, model_id)
    url = f"/v1/models/{model_id}/reviews"
    ids = []
    reviewers = [verified_account(client, outbox) for _ in range(3)]
    for reviewer, (rating, version) in zip(
        reviewers, ((5, "1.0.0"), (4, "1.1.0"), (1, "1.1.0")), strict=True
    ):
        used(container, reviewer, model_id, clock)
        body = {"version": version, "rating": rating, "title": f"{rating} stars"}
        written = client.post(url, json=body, headers=reviewer.headers)
        assert written.status_code == 201, written.text
        ids.append(written.json()["id"])
    five, _, abusive = ids

    page = client.get(url).json()  # reviews of a public model are public
    assert [i["id"] for i in page["items"]] == ids[::-1]
    assert page["summary"] == {
        "average": 3.33, "count": 3, "histogram": {"1": 1, "2": 0, "3": 0, "4": 1, "5": 1},
    }  # fmt: skip
    first = client.get(f"{url}?limit=2").json()
    rest = client.get(f"{url}?limit=2&cursor={first['next_cursor']}").json()
    assert [i["id"] for i in first["items"] + rest["items"]] == ids[::-1]
    assert rest["next_cursor"] is None
    assert client.get(f"{url}?version=1.1.0").json()["summary"]["count"] == 2
    bad = client.get(f"{url}?cursor=not-a-cursor")
    assert (bad.status_code, code(bad)) == (422, "invalid_cursor")

    replied = client.post(
        f"/v1/reviews/{five}/reply", json={"body": "Thanks!"}, headers=publisher.headers
    )
    assert replied.status_code == 200
    again = client.post(
        f"/v1/reviews/{five}/reply", json={"body": "Thanks again"}, headers=publisher.headers
    )
    assert (again.status_code, code(again)) == (409, "already_replied")
    other = verified_account(client, outbox, role="publisher")
    foreign = client.post(
        f"/v1/reviews/{abusive}/reply", json={"body": "Hi"}, headers=other.headers
    )
    assert (foreign.status_code, code(foreign)) == (403, "not_model_owner")

    not_admin = client.post(
        f"/v1/reviews/{abusive}/hide", json={"reason": "abuse"}, headers=publisher.headers
    )
    assert not_admin.status_code == 403
    admin = make_admin(client, container, outbox)
    hidden = client.post(
        f"/v1/reviews/{abusive}/hide", json={"reason": "abuse"}, headers=admin.headers
    )
    assert hidden.status_code == 200
    public = client.get(url).json()
    assert [i["id"] for i in public["items"]] == ids[:2][::-1]
    assert public["summary"]["average"] == 4.5 and public["summary"]["count"] == 2
    assert public["items"][1]["reply"]["body"] == "Thanks!"
    moderated = client.get(url, headers=admin.headers).json()["items"]
    assert [(i["id"], i["hidden"], i["hidden_reason"]) for i in moderated] == [
        (abusive, True, "abuse"),
        (ids[1], False, None),
        (five, False, None),
    ]
    assert client.post(f"/v1/reviews/{abusive}/unhide", headers=admin.headers).status_code == 200
    assert client.get(url).json()["summary"]["count"] == 3

    private = client.patch(
        f"/v1/models/{model_id}", json={"visibility": "private"}, headers=publisher.headers
    )
    assert private.status_code == 200
    assert client.get(url).status_code == 404
    gone = client.post(f"/v1/reviews/{abusive}/reply", json={"body": "Hi"}, headers=other.headers)
    assert (gone.status_code, code(gone)) == (404, "model_not_found")
