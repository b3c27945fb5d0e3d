"""What a call needs to know of a model, read from the event store (never a read model,
so a call right after publishing finds the version) and kept a few seconds in memory:
every call would otherwise load the aggregate. A change made in this process is seen at
once (the event store names what each save changed); other processes see it within the TTL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from commands.cache import TtlCache
from commands.event_store import EventStore
from commands.inference_ports import Deployment, ModelLoading, ModelUnavailable
from commands.tensors import Signature
from domain.access_request import AccessGrant, AccessRequest
from domain.errors import NotFound
from domain.model import (
    DeploymentStatus,
    Model,
    ModelNotActive,
    ModelNotFound,
    ModelStatus,
    VersionNotFound,
    is_visible,
)
from domain.pricing import price_in_force
from domain.principal import Principal
from domain.semver import canonical


class NoPublishedVersion(ModelUnavailable):
    code = "no_published_version"


@dataclass(frozen=True)
class Release:
    """One published version, ready to be called (or saying why not)."""

    deployment: Deployment
    signature: Signature
    status: str
    error: str | None

    def check_deployed(self) -> None:
        version = self.deployment.version
        if self.status == DeploymentStatus.DEPLOYING:
            raise ModelLoading(f"version {version} is being deployed; retry shortly")
        if self.status == DeploymentStatus.FAILED:
            raise ModelUnavailable(f"version {version} could not be deployed: {self.error}")
        if self.status != DeploymentStatus.DEPLOYED:
            raise ModelUnavailable(f"version {version} is not deployed")


@dataclass(frozen=True)
class ModelView:
    model_id: UUID
    publisher_id: UUID
    status: str
    visibility: str
    gated: bool
    response_cache: str
    price_schedule: tuple[tuple[str, dict[str, Any]], ...]
    default_version: str | None
    releases: dict[str, Release]

    def check_callable(self, caller: Principal) -> None:
        owner = caller.user_id == self.publisher_id
        if not is_visible(self.status, self.visibility, owner, caller.role == "admin"):
            raise ModelNotFound(f"no model {self.model_id}")
        if self.status == ModelStatus.DEPRECATED:
            raise ModelNotActive("this model is deprecated and takes no calls")

    def release(self, version: str | None) -> Release:
        if version is None:
            if self.default_version is None:
                raise NoPublishedVersion("this model has no published version yet")
            version = self.default_version
        try:  # keys are canonical: parse only a version that is not one as given
            return self.releases.get(version) or self.releases[canonical(version)]
        except (KeyError, ValueError):
            raise VersionNotFound(f"model {self.model_id} has no published {version}") from None

    def pricing_at(self, at: datetime) -> dict[str, Any]:
        return price_in_force(self.price_schedule, at.isoformat())

    @classmethod
    def of(cls, model: Model) -> ModelView:
        releases = {
            version: _release(model, version, model.versions[version])
            for version in model.published_versions()
        }
        return cls(
            model_id=model.id,
            publisher_id=model.publisher_id,
            status=model.status,
            visibility=model.visibility,
            gated=model.gated,
            response_cache=model.response_cache,
            price_schedule=tuple(model.price_schedule),
            default_version=model.default_version,
            releases=releases,
        )


def _release(model: Model, version: str, info: dict[str, Any]) -> Release:
    stored = info.get("signature") or {}
    deployment = info.get("deployment") or {}
    return Release(
        Deployment(model.id, version, info["digest"], stored),
        Signature.from_stored(stored),
        deployment.get("status", DeploymentStatus.DEPLOYING.value),
        deployment.get("error"),
    )


class ModelViews:
    """Model views and access grants by id: from memory within the TTL, else the store."""

    def __init__(self, app: EventStore, ttl_s: float) -> None:
        self._app = app
        self._views: TtlCache[UUID, ModelView] = TtlCache(ttl_s)
        # By access request id (one per consumer and model): a save names that id.
        self._grants: TtlCache[UUID, tuple[AccessGrant | None]] = TtlCache(ttl_s)
        app.on_changed.append(self.forget)

    def forget(self, aggregate_ids: set[UUID]) -> None:
        for aggregate_id in aggregate_ids:
            self._views.invalidate(aggregate_id)
            self._grants.invalidate(aggregate_id)

    def cached(self, model_id: UUID) -> ModelView | None:
        return self._views.get(model_id)

    def load(self, model_id: UUID) -> ModelView:
        try:
            view = ModelView.of(self._app.load(Model, model_id))
        except NotFound:
            raise ModelNotFound(f"no model {model_id}") from None
        self._views.put(model_id, view)
        return view

    def cached_grant(self, model_id: UUID, user_id: UUID) -> tuple[AccessGrant | None] | None:
        """(grant or None) when known in memory; None when the store must be asked."""
        return self._grants.get(AccessRequest.create_id(user_id, model_id))

    def load_grant(self, model_id: UUID, user_id: UUID, now: datetime) -> AccessGrant | None:
        request_id = AccessRequest.create_id(user_id, model_id)
        try:
            grant = self._app.load(AccessRequest, request_id).grant(now)
        except NotFound:
            grant = None
        self._grants.put(request_id, (grant,))
        return grant
