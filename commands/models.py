"""Model registry commands: create, change, price, version and retire a publisher's models.

Every handler loads the model, checks who is asking against it, calls it and saves.
Artifact upload and validation live in commands/uploads.py; they end in
`Model.upload_version` / `validate_version` / `reject_version` through this service.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from commands.conflicts import CommandHandlers
from commands.event_store import EventStore, Written
from domain.clock import Clock
from domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from domain.model import Model, ModelNotFound
from domain.model_details import DEFAULT_DETAILS, check_slug, clean_details
from domain.pricing import FREE, Pricing
from domain.principal import Principal
from domain.user import Role, User

PUBLISHING_ROLES = {Role.PUBLISHER.value, Role.ADMIN.value}


class SlugTaken(Conflict):
    code = "slug_taken"


class ModelCommands(CommandHandlers):
    def __init__(self, app: EventStore, clock: Clock) -> None:
        self.app, self.clock = app, clock

    def load_visible(self, model_id: UUID, caller: Principal | None) -> Model:
        """The model as `caller` may see it: missing (404) when deleted or someone else's
        private model."""
        model = self._load(model_id)
        model.check_visible(caller.user_id if caller else None, _is_admin(caller))
        return model

    def load_changeable(self, model_id: UUID, caller: Principal) -> Model:
        model = self._load(model_id)
        model.check_can_change(caller.user_id, _is_admin(caller))
        return model

    def _load(self, model_id: UUID) -> Model:
        try:
            return self.app.load(Model, model_id)
        except NotFound:  # with the stable code clients expect for a model
            raise ModelNotFound(f"no model {model_id}") from None

    def create_model(
        self, caller: Principal, slug: str, details: dict[str, Any], pricing: dict[str, Any] | None
    ) -> Written:
        if caller.role not in PUBLISHING_ROLES:
            raise Forbidden("only publishers create models", code="publisher_role_required")
        caller.check_verified()
        if "name" not in details:
            raise InvalidInput("a model needs a name")
        publisher = self.app.load(User, caller.user_id)
        publisher.check_active()
        price_list = FREE if pricing is None else Pricing.from_dict(pricing)
        model = Model(
            publisher_id=caller.user_id,
            publisher_name=publisher.public_name,
            slug=check_slug(slug),
            details={**DEFAULT_DETAILS, **clean_details(details)},
            pricing=price_list.as_dict(),
        )
        try:
            return self.app.write(model)
        except IntegrityError:
            raise SlugTaken(f"you already have a model with the slug {slug!r}") from None

    def update_details(self, caller: Principal, model_id: UUID, changes: dict[str, Any]) -> Written:
        model = self.load_changeable(model_id, caller)
        publisher = self.app.load(User, model.publisher_id)
        model.update_details(clean_details(changes), publisher.public_name)
        return self.app.write(model)

    def change_pricing(
        self, caller: Principal, model_id: UUID, pricing: dict[str, Any]
    ) -> tuple[Written, str]:
        """Returns the write and when the new prices take effect."""
        model = self.load_changeable(model_id, caller)
        effective_from = model.change_pricing(Pricing.from_dict(pricing), self.clock.now())
        return self.app.write(model), effective_from

    def publish_version(self, caller: Principal, model_id: UUID, version: str) -> Written:
        caller.check_verified()
        model = self.load_changeable(model_id, caller)
        model.publish_version(version)
        return self.app.write(model)

    def set_default_version(self, caller: Principal, model_id: UUID, version: str) -> Written:
        model = self.load_changeable(model_id, caller)
        model.set_default_version(version)
        return self.app.write(model)

    def deprecate(self, caller: Principal, model_id: UUID, reason: str) -> Written:
        model = self.load_changeable(model_id, caller)
        model.deprecate(reason)
        return self.app.write(model)

    def delete(self, caller: Principal, model_id: UUID) -> Written:
        model = self.load_changeable(model_id, caller)
        model.delete()
        return self.app.write(model)


def _is_admin(caller: Principal | None) -> bool:
    return caller is not None and caller.role == Role.ADMIN.value
