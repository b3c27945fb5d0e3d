"""Request bodies of the gated-access and review command routes. Unknown fields are refused."""

from __future__ import annotations

from typing import Annotated

from pydantic import AwareDatetime, Field, StrictInt

from domain.access_request import MAX_ANSWER, MAX_REASON
from domain.model_details import MAX_QUESTIONS
from domain.review import MAX_BODY, MAX_REPLY, MAX_TITLE
from infra.http.schemas.common import Strict, Written
from projections.cursor import MAX_INT64

Answer = Annotated[str, Field(min_length=1, max_length=MAX_ANSWER)]


class AccessRequestCreate(Strict):
    answers: list[Answer] = Field(
        default_factory=list,
        max_length=MAX_QUESTIONS,
        description="One answer per access question of the model, in the questions' order",
    )


class AccessApproval(Strict):
    expires_at: AwareDatetime | None = Field(
        default=None, description="When access ends; none: until revoked"
    )
    monthly_call_cap: StrictInt | None = Field(
        default=None, ge=1, le=MAX_INT64, description="Most calls a calendar month; none: no cap"
    )


class AccessDecisionReason(Strict):
    reason: str = Field(min_length=1, max_length=MAX_REASON)


class ReviewWrite(Strict):
    version: str = Field(min_length=1, max_length=64, description="A published version")
    rating: StrictInt = Field(ge=1, le=5)
    title: str = Field(min_length=1, max_length=MAX_TITLE)
    body: str = Field(default="", max_length=MAX_BODY)


class ReviewReply(Strict):
    body: str = Field(min_length=1, max_length=MAX_REPLY)


class ReviewHide(Strict):
    reason: str = Field(min_length=1, max_length=MAX_REASON)


class ReviewWritten(Written):
    created: bool = Field(description="False when this edited the caller's existing review")
