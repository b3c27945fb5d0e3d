"""Reviews: consumers who really used a model rate it; its publisher replies once;
admins hide abusive ones.

"Really used" is asked of evidence functions, each a by-id read of the event store:
today the Usage aggregate (at least one successful call). A completed purchase will be
another one, handed in by the composition root (`evidence=[...]`) when purchases exist.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from commands.conflicts import CommandHandlers, ConcurrentUpdate
from commands.event_store import EventStore, Written
from commands.models import ModelCommands
from commands.usage import UsageCommands
from domain.clock import Clock
from domain.errors import Forbidden, InvalidInput, NotFound
from domain.model import Model, NotModelOwner, VersionStatus
from domain.principal import Principal
from domain.review import Review, check_content
from domain.semver import canonical
from domain.user import User

# (consumer id, model id) -> has this consumer used or bought this model?
Evidence = Callable[[UUID, UUID], bool]


class ReviewNotFound(NotFound):
    code = "review_not_found"


class NotAUserOfModel(Forbidden):
    code = "not_a_user_of_model"


class OwnModelReview(Forbidden):
    code = "own_model"


class VersionNotPublished(InvalidInput):
    code = "version_not_published"


@dataclass(frozen=True)
class ReviewWritten:
    written: Written
    created: bool  # False: an edit of the caller's existing review


@dataclass(frozen=True)
class ReviewContent:
    version: str
    rating: int
    title: str
    body: str = ""


class ReviewService(CommandHandlers):
    def __init__(
        self,
        app: EventStore,
        models: ModelCommands,
        clock: Clock,
        evidence: Sequence[Evidence] | None = None,
    ) -> None:
        self.app, self.models, self.clock = app, models, clock
        self.evidence = list(evidence or [UsageCommands(app).has_used])

    def write_review(
        self, caller: Principal, model_id: UUID, content: ReviewContent
    ) -> ReviewWritten:
        """Create the caller's review of the model, or edit it: one per consumer and model."""
        caller.check_verified()
        model = self.models.load_visible(model_id, caller)
        if model.is_owned_by(caller.user_id):
            raise OwnModelReview("you cannot review a model you publish")
        version = _published_version(model, content.version)
        if not any(used(caller.user_id, model_id) for used in self.evidence):
            raise NotAUserOfModel("only consumers who have used this model may review it")
        rating, title, body = check_content(content.rating, content.title, content.body)
        reviewer = self.app.load(User, caller.user_id)
        reviewer.check_active()
        clean = ReviewContent(version, rating, title, body)
        try:
            return self._write(model, caller.user_id, reviewer.public_name, clean)
        except IntegrityError:  # the same consumer wrote twice at once: this one is an edit
            raise ConcurrentUpdate("your review was written meanwhile") from None

    def reply(self, caller: Principal, review_id: UUID, body: str) -> Written:
        review = self.load_review(review_id)
        model = self.models.load_visible(review.model_id, caller)
        if not model.is_owned_by(caller.user_id):  # admins moderate; they do not reply
            raise NotModelOwner("only the model's publisher may reply to its reviews")
        review.reply_to(caller.user_id, body, self.clock.now())
        return self.app.write(review)

    def hide(self, admin: Principal, review_id: UUID, reason: str) -> Written:
        review = self.load_review(review_id)
        review.hide(admin.user_id, reason, self.clock.now())
        return self.app.write(review)

    def unhide(self, admin: Principal, review_id: UUID) -> Written:
        review = self.load_review(review_id)
        review.unhide(admin.user_id, self.clock.now())
        return self.app.write(review)

    def load_review(self, review_id: UUID) -> Review:
        try:
            return self.app.load(Review, review_id)
        except NotFound:
            raise ReviewNotFound(f"no review {review_id}") from None

    def _write(
        self, model: Model, consumer_id: UUID, name: str, content: ReviewContent
    ) -> ReviewWritten:
        now = self.clock.now()
        try:
            review = self.app.load(Review, Review.create_id(consumer_id, model.id))
        except NotFound:
            review = Review(
                model_id=model.id,
                consumer_id=consumer_id,
                publisher_id=model.publisher_id,
                reviewer_name=name,
                version=content.version,
                rating=content.rating,
                title=content.title,
                body=content.body,
                at=now,
            )
            return ReviewWritten(self.app.write(review), created=True)
        fields = (content.version, content.rating, content.title, content.body)
        if not review.edit(name, *fields, at=now):
            # Nothing changed: the review as it stands is at or before the log's end.
            position = self.app.recorder.max_notification_id() or 0
            return ReviewWritten(Written(review.id, position), created=False)
        return ReviewWritten(self.app.write(review), created=False)


def _published_version(model: Model, version: str) -> str:
    """The canonical form of `version`, which must be published on `model`."""
    info = model.version_info(version)  # 404 version_not_found, 422 invalid_version
    if info["status"] != VersionStatus.PUBLISHED:
        raise VersionNotPublished(f"version {canonical(version)} is not published")
    return str(info["version"])
