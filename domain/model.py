"""The Model aggregate: a publisher's model, its details, price list and versions.

Addressed by a uuid5 of (publisher, slug), so a second model with the same slug
under one publisher is a version conflict in the event store: strongly consistent
without a read model. The slug is therefore fixed at creation.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import Conflict, Forbidden, NotFound
from domain.model_details import DEFAULT_DETAILS
from domain.pricing import Pricing, next_period_start, price_in_force
from domain.semver import SemVer, canonical

MODEL_NAMESPACE = uuid5(NAMESPACE_URL, "https://aimarket.dev/ns/model")


class ModelStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    DEPRECATED = "deprecated"
    DELETED = "deleted"


class VersionStatus(StrEnum):
    UPLOADED = "uploaded"
    VALIDATED = "validated"
    REJECTED = "rejected"
    PUBLISHED = "published"


class ModelNotFound(NotFound):
    code = "model_not_found"


class VersionNotFound(NotFound):
    code = "version_not_found"


class NotModelOwner(Forbidden):
    code = "not_model_owner"


class VersionExists(Conflict):
    code = "version_exists"


class WrongVersionStatus(Conflict):
    code = "version_status"


class ModelNotActive(Conflict):
    code = "model_not_active"


class DeploymentStatus(StrEnum):
    """Where a published version stands on the inference engine."""

    DEPLOYING = "deploying"  # published; the deployer has not reported yet
    DEPLOYED = "deployed"
    FAILED = "failed"
    UNDEPLOYED = "undeployed"  # taken off with its model (deprecated, deleted)


MAX_DEPLOYMENT_ERROR = 2000


def is_visible(status: str, visibility: str, is_owner: bool, is_admin: bool = False) -> bool:
    """Who may see a model: deleted ones exist for nobody, private ones only for their
    publisher and admins. The aggregate and the read side both ask this."""
    if status == ModelStatus.DELETED:
        return False
    return visibility != "private" or is_owner or is_admin


class Model(Aggregate):
    @staticmethod
    def create_id(publisher_id: UUID, slug: str) -> UUID:
        return uuid5(MODEL_NAMESPACE, f"{publisher_id}/{slug}")

    @event("Created")
    def __init__(
        self,
        publisher_id: UUID,
        publisher_name: str,
        slug: str,
        details: dict[str, Any],
        pricing: dict[str, Any],
    ) -> None:
        self.publisher_id = publisher_id
        self.publisher_name = publisher_name
        self.slug = slug
        details = {**DEFAULT_DETAILS, **details}
        self.name: str = details["name"]
        self.description: str = details["description"]
        self.framework: str = details["framework"]
        self.task: str = details["task"]
        self.tags: list[str] = details["tags"]
        self.license: str = details["license"]
        self.visibility: str = details["visibility"]
        self.gated: bool = details["gated"]
        self.access_questions: list[str] = details["access_questions"]
        self.response_cache: str = details["response_cache"]
        self.status = ModelStatus.DRAFT.value
        # (effective from as ISO text, price list as dict), oldest first.
        self.price_schedule: list[tuple[str, dict[str, Any]]] = [("", pricing)]
        self.versions: dict[str, dict[str, Any]] = {}
        self.default_version: str | None = None
        self.stats: dict[str, int] = {}

    # Who may see and change it

    def is_owned_by(self, user_id: UUID) -> bool:
        return self.publisher_id == user_id

    def check_visible(self, user_id: UUID | None, is_admin: bool = False) -> None:
        """Deleted models exist for nobody; private ones only for their owner and admins."""
        owner = user_id is not None and self.is_owned_by(user_id)
        if not is_visible(self.status, self.visibility, owner, is_admin):
            raise ModelNotFound(f"no model {self.id}")

    def check_can_change(self, user_id: UUID, is_admin: bool = False) -> None:
        """Someone else's private model is missing (404); their public one is forbidden (403)."""
        self.check_visible(user_id, is_admin)
        if not is_admin and not self.is_owned_by(user_id):
            raise NotModelOwner("only the model's publisher may change it")

    def check_active(self) -> None:
        if self.status == ModelStatus.DELETED:
            raise ModelNotFound(f"no model {self.id}")
        if self.status == ModelStatus.DEPRECATED:
            raise ModelNotActive("this model is deprecated; it takes no new versions or changes")

    # Details

    def update_details(self, changes: dict[str, Any], publisher_name: str) -> None:
        self.check_active()
        changed = {k: v for k, v in changes.items() if getattr(self, k) != v}
        if publisher_name != self.publisher_name:
            changed["publisher_name"] = publisher_name
        if changed:
            self._details_updated(changed)

    @event("DetailsUpdated")
    def _details_updated(self, changes: dict[str, Any]) -> None:
        for name, value in changes.items():
            setattr(self, name, value)

    # Pricing: a change applies from the next billing period, never to one under way

    def pricing_at(self, at: datetime) -> Pricing:
        return Pricing.from_dict(price_in_force(self.price_schedule, at.isoformat()))

    def change_pricing(self, pricing: Pricing, at: datetime) -> str:
        """Schedule `pricing`; return when it takes effect (ISO text)."""
        self.check_active()
        # Nobody can have used a model that was never published: its prices may change now.
        effective = at if self.status == ModelStatus.DRAFT else next_period_start(at)
        self._pricing_changed(pricing.as_dict(), effective.isoformat())
        return effective.isoformat()

    @event("PricingChanged")
    def _pricing_changed(self, pricing: dict[str, Any], effective_from: str) -> None:
        # A later change for the same period replaces the one still pending.
        kept = [(f, p) for f, p in self.price_schedule if f < effective_from]
        self.price_schedule = [*kept, (effective_from, pricing)]

    # Versions

    def version_info(self, version: str) -> dict[str, Any]:
        try:
            return self.versions[canonical(version)]
        except KeyError:
            raise VersionNotFound(f"model {self.id} has no version {version}") from None

    def check_can_upload(self, version: str) -> str:
        self.check_active()
        key = canonical(version)
        existing = self.versions.get(key)
        if existing is not None and existing["status"] != VersionStatus.REJECTED:
            raise VersionExists(f"version {key} exists already; upload a new version number")
        return key

    def upload_version(self, version: str, digest: str, size: int, upload_id: UUID) -> None:
        key = self.check_can_upload(version)
        self._version_uploaded(key, digest, size, upload_id)

    @event("VersionUploaded")
    def _version_uploaded(self, version: str, digest: str, size: int, upload_id: UUID) -> None:
        self.versions[version] = {
            "version": version,
            "digest": digest,
            "size": size,
            "upload_id": str(upload_id),
            "status": VersionStatus.UPLOADED.value,
            "reasons": [],
        }

    def _check_version_status(self, version: str, *allowed: VersionStatus) -> dict[str, Any]:
        info = self.version_info(version)
        if info["status"] not in allowed:
            wanted = " or ".join(s.value for s in allowed)
            raise WrongVersionStatus(f"version {version} is {info['status']}, not {wanted}")
        return info

    def validate_version(self, version: str, framework: str, signature: dict[str, Any]) -> None:
        self._check_version_status(version, VersionStatus.UPLOADED)
        self._version_validated(canonical(version), framework, signature)

    @event("VersionValidated")
    def _version_validated(self, version: str, framework: str, signature: dict[str, Any]) -> None:
        self.versions[version].update(
            status=VersionStatus.VALIDATED.value, framework=framework, signature=signature
        )

    def reject_version(self, version: str, reasons: list[str]) -> None:
        self._check_version_status(version, VersionStatus.UPLOADED)
        self._version_rejected(canonical(version), reasons)

    @event("VersionRejected")
    def _version_rejected(self, version: str, reasons: list[str]) -> None:
        self.versions[version].update(status=VersionStatus.REJECTED.value, reasons=reasons)

    def publish_version(self, version: str) -> None:
        """Publish a validated version; the first one published publishes the model and
        becomes its default."""
        self.check_active()
        self._check_version_status(version, VersionStatus.VALIDATED)
        key = canonical(version)
        self._version_published(key)
        if self.default_version is None:
            self._default_version_changed(key, None)

    @event("VersionPublished")
    def _version_published(self, version: str) -> None:
        self.versions[version]["status"] = VersionStatus.PUBLISHED.value
        self.versions[version]["deployment"] = _deployment(DeploymentStatus.DEPLOYING)
        if self.status == ModelStatus.DRAFT:
            self.status = ModelStatus.PUBLISHED.value

    def published_versions(self) -> list[str]:
        published = [v for v, i in self.versions.items() if i["status"] == VersionStatus.PUBLISHED]
        return sorted(published, key=SemVer.parse)

    def set_default_version(self, version: str) -> None:
        """Point the default at any published version: a rollback is a move to an older one."""
        self.check_active()
        self._check_version_status(version, VersionStatus.PUBLISHED)
        key = canonical(version)
        if key != self.default_version:
            self._default_version_changed(key, self.default_version)

    @event("DefaultVersionChanged")
    def _default_version_changed(self, version: str, previous: str | None) -> None:
        self.default_version = version

    # Deployment on the inference engine, as the deployer reports it

    def deployment_status(self, version: str) -> DeploymentStatus:
        info = self.version_info(version)
        default = _deployment(DeploymentStatus.DEPLOYING)
        return DeploymentStatus(info.get("deployment", default)["status"])

    def record_deployed(self, version: str, engine: str) -> None:
        self._check_version_status(version, VersionStatus.PUBLISHED)
        if self.deployment_status(version) != DeploymentStatus.DEPLOYED:
            self._deployed(canonical(version), engine)

    @event("Deployed")
    def _deployed(self, version: str, engine: str) -> None:
        self.versions[version]["deployment"] = _deployment(DeploymentStatus.DEPLOYED, engine)

    def record_deployment_failed(self, version: str, engine: str, error: str) -> None:
        self._check_version_status(version, VersionStatus.PUBLISHED)
        self._deployment_failed(canonical(version), engine, error[:MAX_DEPLOYMENT_ERROR])

    @event("DeploymentFailed")
    def _deployment_failed(self, version: str, engine: str, error: str) -> None:
        self.versions[version]["deployment"] = _deployment(DeploymentStatus.FAILED, engine, error)

    def record_undeployed(self, version: str) -> None:
        self._check_version_status(version, VersionStatus.PUBLISHED)
        if self.deployment_status(version) != DeploymentStatus.UNDEPLOYED:
            self._undeployed(canonical(version))

    @event("Undeployed")
    def _undeployed(self, version: str) -> None:
        self.versions[version]["deployment"] = _deployment(DeploymentStatus.UNDEPLOYED)

    # Life cycle

    def deprecate(self, reason: str) -> None:
        if self.status != ModelStatus.PUBLISHED:
            raise ModelNotActive(
                f"only a published model can be deprecated; this one is {self.status}"
            )
        self._deprecated(reason)

    @event("Deprecated")
    def _deprecated(self, reason: str) -> None:
        self.status = ModelStatus.DEPRECATED.value

    def delete(self) -> None:
        if self.status == ModelStatus.DELETED:
            raise ModelNotFound(f"no model {self.id}")
        self._deleted()

    @event("Deleted")
    def _deleted(self) -> None:
        self.status = ModelStatus.DELETED.value

    # Usage figures rolled up from metering (popular, trending, usage counts)

    def update_stats(self, stats: dict[str, int]) -> None:
        if stats != self.stats and self.status != ModelStatus.DELETED:
            self._stats_updated(stats)

    @event("StatsUpdated")
    def _stats_updated(self, stats: dict[str, int]) -> None:
        self.stats = stats


def _deployment(
    status: DeploymentStatus, engine: str | None = None, error: str | None = None
) -> dict[str, Any]:
    return {"status": status.value, "engine": engine, "error": error}
