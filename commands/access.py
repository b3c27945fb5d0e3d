"""Gated access: consumers ask, publishers decide, inference and downloads check.

The model is loaded through ModelCommands, so its visibility rules apply: someone
else's private model is missing (404), deciding on a public model one does not own is
forbidden (403). Whether a consumer holds access is one read by id of the
AccessRequest aggregate, never a read model: a rejection or revocation counts at once.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from commands.conflicts import CommandHandlers
from commands.event_store import EventStore, Written
from commands.models import ModelCommands
from domain.access_request import (
    DEFAULT_COOLDOWN_S,
    AccessGrant,
    AccessRequest,
    RequestPending,
    check_answers,
)
from domain.clock import Clock
from domain.errors import Conflict, Forbidden, NotFound
from domain.model import Model
from domain.principal import Principal
from domain.user import User


class AccessRequestNotFound(NotFound):
    code = "access_request_not_found"


class AccessNotGranted(Forbidden):
    code = "access_not_granted"


class NotGated(Conflict):
    code = "not_gated"


class OwnModel(Conflict):
    code = "own_model"


class AccessService(CommandHandlers):
    def __init__(
        self,
        app: EventStore,
        models: ModelCommands,
        clock: Clock,
        cooldown_s: int = DEFAULT_COOLDOWN_S,
    ) -> None:
        self.app, self.models, self.clock = app, models, clock
        self.cooldown = timedelta(seconds=cooldown_s)

    # Consumers

    def request_access(self, caller: Principal, model_id: UUID, answers: list[str]) -> Written:
        """Ask for access to a gated model, answering its questions; again after a
        rejection once the cool-down has passed."""
        caller.check_verified()
        model = self.models.load_visible(model_id, caller)
        if model.is_owned_by(caller.user_id):
            raise OwnModel("you publish this model; you need no access to it")
        if not model.gated:
            raise NotGated("this model is not gated; call it without asking")
        consumer = self.app.load(User, caller.user_id)
        consumer.check_active()
        questions, now = list(model.access_questions), self.clock.now()
        request = self._find(caller.user_id, model_id)
        if request is None:
            request = AccessRequest(
                consumer_id=caller.user_id,
                model_id=model_id,
                publisher_id=model.publisher_id,
                consumer_name=consumer.public_name,
                model_name=model.name,
                questions=questions,
                answers=check_answers(questions, answers),
                at=now,
            )
        else:
            request.request_again(questions, answers, consumer.public_name, now)
        try:
            return self.app.write(request)
        except IntegrityError:  # the same consumer asked twice at once: one of them counts
            raise RequestPending("your request was just made; wait for the decision") from None

    # Publishers (and admins)

    def approve(
        self,
        caller: Principal,
        request_id: UUID,
        expires_at: datetime | None = None,
        monthly_call_cap: int | None = None,
    ) -> Written:
        request = self._decidable(caller, request_id)
        request.approve(caller.user_id, self.clock.now(), expires_at, monthly_call_cap)
        return self.app.write(request)

    def reject(self, caller: Principal, request_id: UUID, reason: str) -> Written:
        request = self._decidable(caller, request_id)
        request.reject(caller.user_id, reason, self.clock.now(), self.cooldown)
        return self.app.write(request)

    def revoke(self, caller: Principal, request_id: UUID, reason: str) -> Written:
        request = self._decidable(caller, request_id)
        request.revoke(caller.user_id, reason, self.clock.now(), self.cooldown)
        return self.app.write(request)

    # What inference and downloads ask

    def check_granted(self, consumer_id: UUID, model: Model) -> None:
        """Raise 403 access_not_granted unless `consumer_id` may use `model` now."""
        if not self.is_granted(consumer_id, model, self.clock.now()):
            raise AccessNotGranted("this model is gated: request access and wait for approval")

    def is_granted(self, consumer_id: UUID, model: Model, now: datetime) -> bool:
        if not model.gated or model.is_owned_by(consumer_id):
            return True
        request = self._find(consumer_id, model.id)
        return request is not None and request.is_granted(now)

    def grant(self, consumer_id: UUID, model_id: UUID, now: datetime) -> AccessGrant | None:
        """The live approval's conditions (expiry, monthly call cap); None when there is
        none. Ungated models need none: ask `is_granted` first."""
        request = self._find(consumer_id, model_id)
        return None if request is None else request.grant(now)

    def load_request(self, request_id: UUID) -> AccessRequest:
        try:
            return self.app.load(AccessRequest, request_id)
        except NotFound:
            raise AccessRequestNotFound(f"no access request {request_id}") from None

    def _find(self, consumer_id: UUID, model_id: UUID) -> AccessRequest | None:
        try:
            return self.app.load(AccessRequest, AccessRequest.create_id(consumer_id, model_id))
        except NotFound:
            return None

    def _decidable(self, caller: Principal, request_id: UUID) -> AccessRequest:
        request = self.load_request(request_id)
        self.models.load_changeable(request.model_id, caller)  # 404 private, 403 not yours
        return request
