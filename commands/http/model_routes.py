"""Command routes of the model registry: what a publisher does to their models."""

from __future__ import annotations

from typing import Annotated, cast
from uuid import UUID

from fastapi import APIRouter, Depends, Request, status

from commands.http import model_schemas as schemas
from commands.http.deps import ModelWriter
from commands.http.schemas import Written
from commands.models import ModelCommands


def get_models(request: Request) -> ModelCommands:
    return cast(ModelCommands, request.app.state.model_commands)


Models = Annotated[ModelCommands, Depends(get_models)]

router = APIRouter(prefix="/v1", tags=["models"])


@router.post("/models", status_code=status.HTTP_201_CREATED, response_model=Written)
def create_model(body: schemas.ModelCreate, caller: ModelWriter, models: Models) -> Written:
    """Create a draft model (publishers). The slug is fixed and unique among your models."""
    pricing = body.pricing.model_dump() if body.pricing else None
    return Written.of(models.create_model(caller, body.slug, body.given(), pricing))


@router.patch("/models/{model_id}", response_model=Written)
def update_model(
    model_id: UUID, body: schemas.ModelUpdate, caller: ModelWriter, models: Models
) -> Written:
    """Change a model's details: name, model card, task, tags, license, visibility, gating."""
    return Written.of(models.update_details(caller, model_id, body.given()))


@router.delete("/models/{model_id}", response_model=Written)
def delete_model(model_id: UUID, caller: ModelWriter, models: Models) -> Written:
    """Delete a model (soft: its history stays for audit; it disappears from the catalogue)."""
    return Written.of(models.delete(caller, model_id))


@router.post("/models/{model_id}/deprecate", response_model=Written)
def deprecate_model(
    model_id: UUID, body: schemas.Deprecation, caller: ModelWriter, models: Models
) -> Written:
    """Deprecate a published model: it stays usable but takes no new versions."""
    return Written.of(models.deprecate(caller, model_id, body.reason))


@router.put("/models/{model_id}/pricing", response_model=schemas.PricingScheduled)
def change_pricing(
    model_id: UUID, body: schemas.PricingIn, caller: ModelWriter, models: Models
) -> schemas.PricingScheduled:
    """Set the price list. On a published model it applies from the next billing period."""
    written, effective_from = models.change_pricing(caller, model_id, body.model_dump())
    return schemas.PricingScheduled(
        id=written.id, position=written.position, effective_from=effective_from
    )


@router.post("/models/{model_id}/versions/{version}/publish", response_model=Written)
def publish_version(model_id: UUID, version: str, caller: ModelWriter, models: Models) -> Written:
    """Publish a validated version; the first one published becomes the default."""
    return Written.of(models.publish_version(caller, model_id, version))


@router.put("/models/{model_id}/default-version", response_model=Written)
def set_default_version(
    model_id: UUID, body: schemas.DefaultVersion, caller: ModelWriter, models: Models
) -> Written:
    """Point the default at a published version; pointing it back is a rollback."""
    return Written.of(models.set_default_version(caller, model_id, body.version))
