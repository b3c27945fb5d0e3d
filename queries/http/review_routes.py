"""Query routes of reviews: a model's reviews with its rating summary."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, cast
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel

from commands.http.deps import MaybeCaller, optional_principal
from queries.http.params import Limit, NextCursor, PageCursor, fresh_for
from queries.reviews import ReviewQueries


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


def get_review_queries(request: Request) -> ReviewQueries:
    return cast(ReviewQueries, request.app.state.review_queries)


ReviewReads = Annotated[ReviewQueries, Depends(get_review_queries)]

# Reviews of a public model are public: a caller is resolved only if they send credentials.
router = APIRouter(prefix="/v1", tags=["reviews"], dependencies=[fresh_for(optional_principal)])


@router.get("/models/{model_id}/reviews", response_model=ReviewsPage)
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
