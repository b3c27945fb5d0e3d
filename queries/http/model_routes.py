"""Query routes of the catalogue: browse and search, a model's page, its versions.

Anyone may browse; a caller who sends credentials also sees their own private models.
"""

from __future__ import annotations

from typing import Annotated, cast
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, Response

from commands.http.deps import MaybeCaller, optional_principal
from domain.errors import Forbidden
from domain.principal import Principal
from domain.user import Role
from queries.http import model_schemas as schemas
from queries.http.params import decoded, fresh_for
from queries.models import ANONYMOUS, BrowseParams, ModelQueries, Viewer

# A key needs one of these to see its owner's private models; a person's token has all.
PRIVATE_SCOPES = frozenset({"models:read", "models:write"})


# Dependencies that do no I/O are `async def`: FastAPI runs plain `def` ones in a thread.


async def get_model_queries(request: Request) -> ModelQueries:
    return cast(ModelQueries, request.app.state.model_queries)


def viewer_of(principal: Principal | None) -> Viewer:
    if principal is None or not principal.scopes & PRIVATE_SCOPES:
        return ANONYMOUS
    return Viewer(principal.user_id, principal.role == Role.ADMIN.value)


Models = Annotated[ModelQueries, Depends(get_model_queries)]
Caller = MaybeCaller
# Whether `wait_for` was given: the search index is refreshed then.
FreshSearch = Annotated[bool, fresh_for(optional_principal)]

router = APIRouter(prefix="/v1", tags=["catalogue"])


@router.get("/models", response_model=schemas.ModelsPage)
def browse_models(
    query: Annotated[schemas.ModelsQuery, Query()],
    models: Models,
    caller: Caller,
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
    model_id: UUID, models: Models, caller: Caller, fresh: FreshSearch
) -> schemas.ModelPublic:
    """A model's page: details, versions, signature, prices, rating and usage."""
    return schemas.ModelPublic.model_validate(models.detail(model_id, viewer_of(caller)))


@router.get("/models/{model_id}/versions", response_model=schemas.VersionsList)
def list_versions(
    model_id: UUID, models: Models, caller: Caller, fresh: FreshSearch
) -> schemas.VersionsList:
    """A model's versions, newest first; others than the publisher see published ones."""
    items = models.versions(model_id, viewer_of(caller))
    return schemas.VersionsList.model_validate({"items": items})
