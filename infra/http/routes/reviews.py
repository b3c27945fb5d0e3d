"""Reviews: a consumer who used a model writes or edits one review, its publisher
replies, admins hide and unhide; anyone reads a model's reviews and rating summary."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel

from commands.reviews import ReviewContent, ReviewService
from infra.http.deps import Admin, MaybeCaller, ModelReader, ModelWriter, Use, optional_principal
from infra.http.params import Limit, NextCursor, PageCursor, fresh_for
from infra.http.schemas import access_reviews as schemas
from infra.http.schemas.common import Written
from queries.reviews import ReviewQueries

router = APIRouter(prefix="/v1", tags=["reviews"])
Reviews = Annotated[ReviewService, Use(ReviewService)]
ReviewReads = Annotated[ReviewQueries, Use(ReviewQueries)]
# Reviews of a public model are public: a caller is resolved only if they send credentials.
Fresh = fresh_for(optional_principal)


class ReviewReplyPublic(BaseModel):
    body: str
    at: datetime


class ReviewPublic(BaseModel):
    id: UUID
    model_id: UUID
    version: str
    rating: int
    title: str
    body: str
    reviewer_name: str
    reply: ReviewReplyPublic | None
    edited: bool
    mine: bool
    hidden: bool
    hidden_reason: str | None  # admins only
    created_at: datetime
    updated_at: datetime


class ReviewsSummary(BaseModel):
    average: float | None
    count: int
    histogram: dict[str, int]


class ReviewsPage(BaseModel):
    items: list[ReviewPublic]
    next_cursor: NextCursor
    summary: ReviewsSummary


@router.post(
    "/models/{model_id}/reviews",
    status_code=status.HTTP_201_CREATED,
    response_model=schemas.ReviewWritten,
    responses={200: {"description": "Your existing review was edited"}},
)
def write_review(
    model_id: UUID,
    body: schemas.ReviewWrite,
    caller: ModelReader,
    reviews: Reviews,
    response: Response,
) -> schemas.ReviewWritten:
    """Review a model you have used (201), or edit your review of it (200): one each."""
    content = ReviewContent(body.version, body.rating, body.title, body.body)
    result = reviews.write_review(caller, model_id, content)
    if not result.created:
        response.status_code = status.HTTP_200_OK
    written = result.written
    return schemas.ReviewWritten(id=written.id, position=written.position, created=result.created)


@router.post("/reviews/{review_id}/reply", response_model=Written)
def reply(
    review_id: UUID, body: schemas.ReviewReply, caller: ModelWriter, reviews: Reviews
) -> Written:
    """Answer a review of your model (publisher), once."""
    return Written.of(reviews.reply(caller, review_id, body.body))


@router.post("/reviews/{review_id}/hide", response_model=Written)
def hide(review_id: UUID, body: schemas.ReviewHide, admin: Admin, reviews: Reviews) -> Written:
    """Hide an abusive review (admin): it leaves the listing and the rating summary."""
    return Written.of(reviews.hide(admin, review_id, body.reason))


@router.post("/reviews/{review_id}/unhide", response_model=Written)
def unhide(review_id: UUID, admin: Admin, reviews: Reviews) -> Written:
    """Show a hidden review again (admin)."""
    return Written.of(reviews.unhide(admin, review_id))


@router.get("/models/{model_id}/reviews", response_model=ReviewsPage, dependencies=[Fresh])
def model_reviews(
    model_id: UUID,
    caller: MaybeCaller,
    queries: ReviewReads,
    cursor: PageCursor,
    version: Annotated[str | None, Query(max_length=64)] = None,
    limit: Limit = 20,
) -> ReviewsPage:
    """The model's reviews, newest first, and its rating summary (average, count,
    histogram); `version` narrows both. Hidden reviews are listed for admins only and
    never count."""
    page, summary = queries.for_model(caller, model_id, version, limit, cursor)
    return ReviewsPage.model_validate(
        {"items": page.items, "next_cursor": page.next_cursor, "summary": summary}
    )
