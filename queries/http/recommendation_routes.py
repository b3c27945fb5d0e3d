"""Query route: models to try next, given one model ("consumers who used X also used Y")."""

from __future__ import annotations

from typing import Annotated, cast
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from queries.http.model_routes import Caller, FreshSearch, viewer_of
from queries.recommendations import Recommendations


class RecommendedModel(BaseModel):
    id: UUID
    name: str
    slug: str
    publisher_name: str
    task: str
    tags: list[str]


class Recommendation(BaseModel):
    model: RecommendedModel
    score: float = Field(description="0..1: co-use (0.7) blended with content similarity (0.3)")
    reason: str = Field(examples=["3 consumers who used ResNet-50 also used this"])


class RecommendationList(BaseModel):
    items: list[Recommendation]


def get_recommendations(request: Request) -> Recommendations:
    return cast(Recommendations, request.app.state.recommendations)


Recommender = Annotated[Recommendations, Depends(get_recommendations)]

router = APIRouter(prefix="/v1", tags=["catalogue"])


@router.get("/models/{model_id}/recommendations", response_model=RecommendationList)
def recommendations(
    model_id: UUID,
    recommender: Recommender,
    caller: Caller,
    fresh: FreshSearch,
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> RecommendationList:
    """Public models to try next, best first, each with the reason in one line."""
    items = recommender.for_model(str(model_id), viewer_of(caller), limit, refresh=fresh)
    return RecommendationList.model_validate(
        {"items": [{"model": i.model, "score": i.score, "reason": i.reason} for i in items]}
    )
