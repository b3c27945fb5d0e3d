"""Models: what a publisher does to their models (create, change, price, publish,
retire), and the catalogue anyone browses (search, a model's page, its versions, models
to try next). A caller who sends credentials also sees their own private models."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel, Field

from commands.models import ModelCommands
from domain.errors import Forbidden
from domain.principal import Principal
from domain.user import Role
from infra.http.deps import MaybeCaller, ModelWriter, Use, optional_principal
from infra.http.params import decoded, fresh_for
from infra.http.schemas import models as schemas
from infra.http.schemas.common import Written
from queries.models import ANONYMOUS, BrowseParams, ModelQueries, Viewer
from queries.recommendations import Recommendations

router = APIRouter(prefix="/v1", tags=["models"])
Registry = Annotated[ModelCommands, Use(ModelCommands)]
Catalogue = Annotated[ModelQueries, Use(ModelQueries)]
Recommender = Annotated[Recommendations, Use(Recommendations)]

# A key needs one of these to see its owner's private models; a person's token has all.
PRIVATE_SCOPES = frozenset({"models:read", "models:write"})


def viewer_of(principal: Principal | None) -> Viewer:
    if principal is None or not principal.scopes & PRIVATE_SCOPES:
        return ANONYMOUS
    return Viewer(principal.user_id, principal.role == Role.ADMIN.value)


# Whether `wait_for` was given: the search index is refreshed then.
FreshSearch = Annotated[bool, fresh_for(optional_principal)]


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


@router.post("/models", status_code=status.HTTP_201_CREATED, response_model=Written)
def create_model(body: schemas.ModelCreate, caller: ModelWriter, models: Registry) -> Written:
    """Create a draft model (publishers). The slug is fixed and unique among your models."""
    pricing = body.pricing.model_dump() if body.pricing else None
    return Written.of(models.create_model(caller, body.slug, body.given(), pricing))


@router.patch("/models/{model_id}", response_model=Written)
def update_model(
    model_id: UUID, body: schemas.ModelUpdate, caller: ModelWriter, models: Registry
) -> Written:
    """Change a model's details: name, model card, task, tags, license, visibility, gating."""
    return Written.of(models.update_details(caller, model_id, body.given()))


@router.delete("/models/{model_id}", response_model=Written)
def delete_model(model_id: UUID, caller: ModelWriter, models: Registry) -> Written:
    """Delete a model (soft: its history stays for audit; it disappears from the catalogue)."""
    return Written.of(models.delete(caller, model_id))


@router.post("/models/{model_id}/deprecate", response_model=Written)
def deprecate_model(
    model_id: UUID, body: schemas.Deprecation, caller: ModelWriter, models: Registry
) -> Written:
    """Deprecate a published model: it stays usable but takes no new versions."""
    return Written.of(models.deprecate(caller, model_id, body.reason))


@router.put("/models/{model_id}/pricing", response_model=schemas.PricingScheduled)
def change_pricing(
    model_id: UUID, body: schemas.PricingIn, caller: ModelWriter, models: Registry
) -> schemas.PricingScheduled:
    """Set the price list. On a published model it applies from the next billing period."""
    written, effective_from = models.change_pricing(caller, model_id, body.model_dump())
    return schemas.PricingScheduled(
        id=written.id, position=written.position, effective_from=effective_from
    )


@router.post("/models/{model_id}/versions/{version}/publish", response_model=Written)
def publish_version(model_id: UUID, version: str, caller: ModelWriter, models: Registry) -> Written:
    """Publish a validated version; the first one published becomes the default."""
    return Written.of(models.publish_version(caller, model_id, version))


@router.put("/models/{model_id}/default-version", response_model=Written)
def set_default_version(
    model_id: UUID, body: schemas.DefaultVersion, caller: ModelWriter, models: Registry
) -> Written:
    """Point the default at a published version; pointing it back is a rollback."""
    return Written.of(models.set_default_version(caller, model_id, body.version))


@router.get("/models", response_model=schemas.ModelsPage)
def browse_models(
    query: Annotated[schemas.ModelsQuery, Query()],
    models: Catalogue,
    caller: MaybeCaller,
    fresh: FreshSearch,
) -> Response:
    """Browse and search the catalogue: filters, sorts, facet counts, cursor pages."""
    viewer = viewer_of(caller)
    if query.mine and caller is not None and viewer is ANONYMOUS:
        raise Forbidden("this needs the scope 'models:read'", code="insufficient_scope")
    given = query.model_dump(exclude={"publisher", "cursor"})
    publishers = [str(p) for p in query.publisher]
    params = BrowseParams(**given, publisher=publishers, cursor=decoded(query.cursor))
    page = schemas.ModelsPage.model_validate(models.browse(params, viewer, refresh=fresh))
    # Serialised once, here: returning the model would have FastAPI validate it again.
    return Response(page.model_dump_json(), media_type="application/json")


@router.get("/models/{model_id}", response_model=schemas.ModelPublic)
def get_model(
    model_id: UUID, models: Catalogue, caller: MaybeCaller, fresh: FreshSearch
) -> schemas.ModelPublic:
    """A model's page: details, versions, signature, prices, rating and usage."""
    return schemas.ModelPublic.model_validate(models.detail(model_id, viewer_of(caller)))


@router.get("/models/{model_id}/versions", response_model=schemas.VersionsList)
def list_versions(
    model_id: UUID, models: Catalogue, caller: MaybeCaller, fresh: FreshSearch
) -> schemas.VersionsList:
    """A model's versions, newest first; others than the publisher see published ones."""
    items = models.versions(model_id, viewer_of(caller))
    return schemas.VersionsList.model_validate({"items": items})


@router.get("/models/{model_id}/recommendations", response_model=RecommendationList)
def recommendations(
    model_id: UUID,
    recommender: Recommender,
    caller: MaybeCaller,
    fresh: FreshSearch,
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> RecommendationList:
    """Public models to try next, best first, each with the reason in one line."""
    items = recommender.for_model(str(model_id), viewer_of(caller), limit, refresh=fresh)
    return RecommendationList.model_validate(
        {"items": [{"model": i.model, "score": i.score, "reason": i.reason} for i in items]}
    )
