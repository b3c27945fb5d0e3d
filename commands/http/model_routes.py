"""Command routes of the model registry: what a publisher does to their models."""

from __future__ import annotations

from typing import Annotated, cast
from uuid import UUID

from fastapi import APIRouter, Depends, Request, status

from commands.http import model_schemas as schemas
from commands.http.deps import require_scope
from commands.http.schemas import Written
from commands.models import ModelCommands
from commands.principal import Principal


def get_models(request: Request) -> ModelCommands:
    return cast(ModelCommands, request.app.state.model_commands)


Models = Annotated[ModelCommands, Depends(get_models)]
# A person's access token, or an API key holding `models:write`.
Writer = Annotated[Principal, Depends(require_scope("models:write"))]

router = APIRouter(prefix="/v1", tags=["models"])


def _written(written: object) -> Written:
    return Written.model_validate(written, from_attributes=True)


@router.post("/models", status_code=status.HTTP_201_CREATED, response_model=Written)
def create_model(body: schemas.ModelCreate, caller: Writer, models: Models) -> Written:
    """Create a draft model (publishers). The slug is fixed and unique among your models."""
    pricing = body.pricing.model_dump() if body.pricing else None
    return _written(models.create_model(caller, body.slug, body.given(), pricing))


@router.patch("/models/{model_id}", response_model=Written)
def update_model(
    model_id: UUID, body: schemas.ModelUpdate, caller: Writer, models: Models
) -> Written:
    """Change a model's details: name, model card, task, tags, license, visibility, gating."""
    return _written(models.update_details(caller, model_id, body.given()))


@router.delete("/models/{model_id}", response_model=Written)
def delete_model(model_id: UUID, caller: Writer, models: Models) -> Written:
    """Delete a model (soft: its history stays for audit; it disappears from the catalogue)."""
    return _written(models.delete(caller, model_id))


@router.post("/models/{model_id}/deprecate", response_model=Written)
def deprecate_model(
    model_id: UUID, body: schemas.Deprecation, caller: Writer, models: Models
) -> Written:
    """Deprecate a published model: it stays usable but takes no new versions."""
    return _written(models.deprecate(caller, model_id, body.reason))


@router.put("/models/{model_id}/pricing", response_model=schemas.PricingScheduled)
def change_pricing(
    model_id: UUID, body: schemas.PricingIn, caller: Writer, models: Models
) -> schemas.PricingScheduled:
    """Set the price list. On a published model it applies from the next billing period."""
    written, effective_from = models.change_pricing(caller, model_id, body.model_dump())
    return schemas.PricingScheduled(
        id=written.id, position=written.position, effective_from=effective_from
    )


@router.post("/models/{model_id}/versions/{version}/publish", response_model=Written)
def publish_version(model_id: UUID, version: str, caller: Writer, models: Models) -> Written:
    """Publish a validated version; the first one published becomes the default."""
    return _written(models.publish_version(caller, model_id, version))


@router.put("/models/{model_id}/default-version", response_model=Written)
def set_default_version(
    model_id: UUID, body: schemas.DefaultVersion, caller: Writer, models: Models
) -> Written:
    """Point the default at a published version; pointing it back is a rollback."""
    return _written(models.set_default_version(caller, model_id, body.version))
