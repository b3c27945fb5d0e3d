"""The Review aggregate: one consumer's review of one model, editable, rated 1 to 5.

Addressed by a uuid5 of (consumer, model): one review per pair is strongly consistent,
and a second write is an edit of the same aggregate. Each review is its own aggregate,
so a popular model is no contention point; its rating summary is computed on the read
side from the `reviews` read model.

The reviewer's public name is copied in at write time, so listings never need (and
never show) an email.
"""

from __future__ import annotations

from datetime import datetime
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import Conflict, InvalidInput

REVIEW_NAMESPACE = uuid5(NAMESPACE_URL, "https://aimarket.dev/ns/review")
MIN_RATING, MAX_RATING = 1, 5
MAX_TITLE, MAX_BODY, MAX_REPLY, MAX_REASON = 200, 10_000, 5_000, 1_000


class AlreadyReplied(Conflict):
    code = "already_replied"


class AlreadyHidden(Conflict):
    code = "already_hidden"


class NotHidden(Conflict):
    code = "not_hidden"


def check_rating(rating: int) -> int:
    # bool is an int in Python: True must not pass as a rating of 1.
    if isinstance(rating, bool) or not isinstance(rating, int):
        raise InvalidInput("rating must be a whole number", code="invalid_rating")
    if not MIN_RATING <= rating <= MAX_RATING:
        raise InvalidInput(
            f"rating must be from {MIN_RATING} to {MAX_RATING}", code="invalid_rating"
        )
    return rating


def _text(value: str, field: str, limit: int, *, required: bool) -> str:
    clean = value.strip()
    if len(clean) > limit or (required and not clean):
        least = 1 if required else 0
        raise InvalidInput(f"{field} must be text of {least} to {limit} characters")
    return clean


def check_content(rating: int, title: str, body: str) -> tuple[int, str, str]:
    return (
        check_rating(rating),
        _text(title, "title", MAX_TITLE, required=True),
        _text(body, "body", MAX_BODY, required=False),
    )


class Review(Aggregate):
    @staticmethod
    def create_id(consumer_id: UUID, model_id: UUID) -> UUID:
        return uuid5(REVIEW_NAMESPACE, f"{consumer_id}/{model_id}")

    @event("Written")
    def __init__(
        self,
        model_id: UUID,
        consumer_id: UUID,
        publisher_id: UUID,
        reviewer_name: str,
        version: str,
        rating: int,
        title: str,
        body: str,
        at: datetime,
    ) -> None:
        self.model_id = model_id
        self.consumer_id = consumer_id
        self.publisher_id = publisher_id
        self.reviewer_name = reviewer_name
        self.rated_version, self.rating, self.title, self.body = version, rating, title, body
        self.written_at = at
        self.reply: str | None = None
        self.hidden = False

    def edit(
        self, reviewer_name: str, version: str, rating: int, title: str, body: str, at: datetime
    ) -> bool:
        """Change the review; False (and no event) when nothing would change."""
        rating, title, body = check_content(rating, title, body)
        new = (reviewer_name, version, rating, title, body)
        if new == (self.reviewer_name, self.rated_version, self.rating, self.title, self.body):
            return False
        self._edited(reviewer_name, version, rating, title, body, at)
        return True

    @event("Edited")
    def _edited(
        self, reviewer_name: str, version: str, rating: int, title: str, body: str, at: datetime
    ) -> None:
        self.reviewer_name = reviewer_name
        self.rated_version, self.rating, self.title, self.body = version, rating, title, body

    def reply_to(self, by: UUID, body: str, at: datetime) -> None:
        """The publisher answers once; a second reply is refused, not an overwrite."""
        if self.reply is not None:
            raise AlreadyReplied("the publisher has already replied to this review")
        self._replied(by, _text(body, "reply", MAX_REPLY, required=True), at)

    @event("Replied")
    def _replied(self, by: UUID, body: str, at: datetime) -> None:
        self.reply = body

    def hide(self, by: UUID, reason: str, at: datetime) -> None:
        if self.hidden:
            raise AlreadyHidden("this review is hidden already")
        self._hidden(by, _text(reason, "reason", MAX_REASON, required=True), at)

    @event("Hidden")
    def _hidden(self, by: UUID, reason: str, at: datetime) -> None:
        self.hidden = True

    def unhide(self, by: UUID, at: datetime) -> None:
        if not self.hidden:
            raise NotHidden("this review is not hidden")
        self._unhidden(by, at)

    @event("Unhidden")
    def _unhidden(self, by: UUID, at: datetime) -> None:
        self.hidden = False
