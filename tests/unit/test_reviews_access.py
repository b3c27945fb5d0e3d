"""Gated access and reviews: the aggregates' rules and their read models."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from eventsourcing.domain import Aggregate

from domain.access_request import (
    AccessRequest,
    AlreadyGranted,
    Cooldown,
    NotApproved,
    RequestNotPending,
    RequestPending,
    check_answers,
)
from domain.envelope import envelope
from domain.errors import InvalidInput
from domain.review import AlreadyHidden, AlreadyReplied, NotHidden, Review, check_content
from projections.access_requests import access_requests
from projections.base import DocumentProjection
from projections.ports import Document
from projections.reviews import reviews

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
WEEK = timedelta(days=7)
CONSUMER, PUBLISHER, MODEL = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()


def new_request(answers: list[str] | None = None) -> AccessRequest:
    return AccessRequest(
        consumer_id=CONSUMER,
        model_id=MODEL,
        publisher_id=PUBLISHER,
        consumer_name="ada",
        model_name="Resnet",
        questions=["Why?"],
        answers=answers or ["research"],
        at=NOW,
    )


def new_review(rating: int = 4) -> Review:
    return Review(
        model_id=MODEL,
        consumer_id=CONSUMER,
        publisher_id=PUBLISHER,
        reviewer_name="ada",
        version="1.0.0",
        rating=rating,
        title="Good",
        body="Works well",
        at=NOW,
    )


def project(
    projection: DocumentProjection, aggregate: Aggregate, doc: Document | None = None
) -> Document | None:
    for event in aggregate.collect_events():
        doc = projection.apply(doc, envelope(event))
    return doc


# Access requests


def test_one_request_per_consumer_and_model() -> None:
    assert new_request().id == AccessRequest.create_id(CONSUMER, MODEL)
    assert AccessRequest.create_id(CONSUMER, uuid.uuid4()) != new_request().id


def test_answers_must_match_the_questions_one_for_one() -> None:
    assert check_answers(["a", "b"], [" x ", "y"]) == ["x", "y"]
    with pytest.raises(InvalidInput) as missing:
        check_answers(["a", "b"], ["x"])
    assert missing.value.code == "answers_mismatch"
    with pytest.raises(InvalidInput):
        check_answers(["a"], ["   "])
    with pytest.raises(InvalidInput):
        check_answers(["a"], ["x" * 2001])


def test_a_pending_request_cannot_be_made_again() -> None:
    with pytest.raises(RequestPending):
        new_request().request_again(["Why?"], ["again"], "ada", NOW)


def test_a_rejected_consumer_waits_out_the_cooldown() -> None:
    request = new_request()
    request.reject(PUBLISHER, "not a fit", NOW, WEEK)
    with pytest.raises(Cooldown) as early:
        request.request_again(["Why?"], ["please"], "ada", NOW + WEEK - timedelta(seconds=1))
    assert early.value.code == "cooldown" and early.value.retry_after_s == 1
    request.request_again(["Why?"], ["please"], "ada", NOW + WEEK)
    assert (request.status, request.rounds, request.answers) == ("pending", 2, ["please"])
    assert request.retry_after is None and request.reason == ""


def test_only_a_pending_request_is_decided() -> None:
    request = new_request()
    request.approve(PUBLISHER, NOW, None, None)
    with pytest.raises(RequestNotPending):
        request.reject(PUBLISHER, "changed my mind", NOW, WEEK)
    with pytest.raises(RequestNotPending):
        request.approve(PUBLISHER, NOW, None, None)


def test_rejection_needs_a_reason() -> None:
    with pytest.raises(InvalidInput):
        new_request().reject(PUBLISHER, "  ", NOW, WEEK)


def test_approval_with_conditions_grants_until_it_expires() -> None:
    request = new_request()
    assert not request.is_granted(NOW)
    request.approve(PUBLISHER, NOW, NOW + WEEK, 1000)
    assert request.is_granted(NOW + WEEK - timedelta(seconds=1))
    grant = request.grant(NOW)
    assert grant is not None and (grant.expires_at, grant.monthly_call_cap) == (NOW + WEEK, 1000)
    assert not request.is_granted(NOW + WEEK)
    assert request.grant(NOW + WEEK) is None


def test_approval_conditions_are_checked() -> None:
    with pytest.raises(InvalidInput) as past:
        new_request().approve(PUBLISHER, NOW, NOW, None)
    assert past.value.code == "invalid_expiry"
    with pytest.raises(InvalidInput):
        new_request().approve(PUBLISHER, NOW, None, 0)


def test_a_live_grant_is_not_requested_again_but_an_expired_one_is() -> None:
    request = new_request()
    request.approve(PUBLISHER, NOW, NOW + WEEK, None)
    with pytest.raises(AlreadyGranted):
        request.request_again(["Why?"], ["more"], "ada", NOW)
    request.request_again(["Why?"], ["more"], "ada", NOW + WEEK)  # no cool-down after expiry
    assert request.status == "pending" and not request.is_granted(NOW + WEEK)


def test_revocation_ends_access_and_starts_a_cooldown() -> None:
    request = new_request()
    with pytest.raises(NotApproved):
        request.revoke(PUBLISHER, "abuse", NOW, WEEK)
    request.approve(PUBLISHER, NOW, None, None)
    request.revoke(PUBLISHER, "abuse", NOW, WEEK)
    assert not request.is_granted(NOW)
    with pytest.raises(Cooldown):
        request.request_again(["Why?"], ["sorry"], "ada", NOW + timedelta(days=1))


def test_the_read_model_lists_every_step_for_both_sides() -> None:
    request = new_request()
    request.reject(PUBLISHER, "not a fit", NOW, WEEK)
    request.request_again(["Why?"], ["please"], "ada", NOW + WEEK)
    request.approve(PUBLISHER, NOW + WEEK, None, 50)
    doc = project(access_requests, request)
    assert doc is not None
    assert [s["step"] for s in doc["history"]] == ["requested", "rejected", "requested", "approved"]
    assert doc["history"][1]["reason"] == "not a fit"
    assert (doc["status"], doc["rounds"], doc["monthly_call_cap"]) == ("approved", 2, 50)
    assert doc["consumer_id"] == str(CONSUMER) and doc["publisher_id"] == str(PUBLISHER)


# Reviews


def test_one_review_per_consumer_and_model() -> None:
    assert new_review().id == Review.create_id(CONSUMER, MODEL)


@pytest.mark.parametrize("rating", [0, 6, -1, True, 2.5])
def test_ratings_are_whole_stars_from_one_to_five(rating: Any) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_content(rating, "title", "")
    assert refused.value.code == "invalid_rating"
    with pytest.raises(InvalidInput):
        new_review().edit("ada", "1.0.0", rating, "title", "", NOW)


def test_a_review_needs_a_title_and_bounded_text() -> None:
    assert check_content(5, " Great ", "") == (5, "Great", "")
    with pytest.raises(InvalidInput):
        check_content(5, " ", "")
    with pytest.raises(InvalidInput):
        check_content(5, "t", "x" * 10_001)


def test_editing_keeps_one_review_and_an_unchanged_edit_records_nothing() -> None:
    review = new_review()
    review.collect_events()
    assert not review.edit("ada", "1.0.0", 4, "Good", "Works well", NOW)
    assert review.collect_events() == []
    assert review.edit("ada", "1.1.0", 2, "Worse", "", NOW)
    assert (review.rated_version, review.rating, review.version) == ("1.1.0", 2, 2)


def test_the_publisher_replies_once() -> None:
    review = new_review()
    review.reply_to(PUBLISHER, "Thanks!", NOW)
    with pytest.raises(AlreadyReplied):
        review.reply_to(PUBLISHER, "Thanks again!", NOW)
    with pytest.raises(InvalidInput):
        new_review().reply_to(PUBLISHER, " ", NOW)


def test_hiding_and_unhiding_are_not_repeated() -> None:
    review = new_review()
    with pytest.raises(NotHidden):
        review.unhide(PUBLISHER, NOW)
    review.hide(PUBLISHER, "abusive", NOW)
    with pytest.raises(AlreadyHidden):
        review.hide(PUBLISHER, "abusive", NOW)
    review.unhide(PUBLISHER, NOW)
    assert not review.hidden


def test_the_reviews_read_model_keeps_the_contract_fields() -> None:
    review = new_review(rating=3)
    review.edit("ada", "1.1.0", 5, "Better", "", NOW)
    review.reply_to(PUBLISHER, "Thanks", NOW)
    review.hide(PUBLISHER, "abusive", NOW)
    doc = project(reviews, review)
    assert doc is not None
    assert {k: doc[k] for k in ("model_id", "consumer_id", "version", "rating", "hidden")} == {
        "model_id": str(MODEL),
        "consumer_id": str(CONSUMER),
        "version": "1.1.0",
        "rating": 5,
        "hidden": True,
    }
    assert doc["reply"]["body"] == "Thanks" and doc["edited"] and doc["hidden_reason"] == "abusive"
    review.unhide(PUBLISHER, NOW)
    unhidden = project(reviews, review, doc)
    assert unhidden is not None
    assert (unhidden["hidden"], unhidden["hidden_reason"], unhidden["rating"]) == (False, None, 5)
