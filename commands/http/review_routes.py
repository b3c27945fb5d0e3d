"""Command routes of reviews: write or edit one's review, reply as publisher, moderate."""

from __future__ import annotations

from typing import Annotated, cast
from uuid import UUID

from fastapi import APIRouter, Depends, Request, Response, status

from commands.http import access_review_schemas as schemas
from commands.http.deps import Admin, ModelReader, ModelWriter
from commands.http.schemas import Written
from commands.reviews import ReviewContent, ReviewService


def get_reviews(request: Request) -> ReviewService:
    return cast(ReviewService, request.app.state.reviews)


Reviews = Annotated[ReviewService, Depends(get_reviews)]

router = APIRouter(prefix="/v1", tags=["reviews"])


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


@router.post("/reviews/{review_id}/hide", response_model=Written, tags=["admin"])
def hide(review_id: UUID, body: schemas.ReviewHide, admin: Admin, reviews: Reviews) -> Written:
    """Hide an abusive review (admin): it leaves the listing and the rating summary."""
    return Written.of(reviews.hide(admin, review_id, body.reason))


@router.post("/reviews/{review_id}/unhide", response_model=Written, tags=["admin"])
def unhide(review_id: UUID, admin: Admin, reviews: Reviews) -> Written:
    """Show a hidden review again (admin)."""
    return Written.of(reviews.unhide(admin, review_id))
