"""What the deployer worker found, recorded on the Model: a version deployed, refused by
the engine (with the engine's words, for the publisher), or taken off."""

from __future__ import annotations

from uuid import UUID

from commands.conflicts import CommandHandlers
from commands.event_store import EventStore
from commands.inference_ports import Deployment
from domain.model import Model, VersionStatus


class DeploymentCommands(CommandHandlers):
    def __init__(self, app: EventStore, engine: str) -> None:
        self.app, self.engine = app, engine

    def targets(self, model_id: UUID, versions: list[str] | None = None) -> list[Deployment]:
        """The model's published versions (or those of `versions` that are) as the engine
        sees them."""
        model = self.app.load(Model, model_id)
        wanted = model.published_versions() if versions is None else versions
        return [
            Deployment(model_id, v, model.versions[v]["digest"], model.versions[v]["signature"])
            for v in wanted
            if model.versions.get(v, {}).get("status") == VersionStatus.PUBLISHED
        ]

    def deployed(self, model_id: UUID, version: str) -> None:
        model = self.app.load(Model, model_id)
        model.record_deployed(version, self.engine)
        self.app.write(model)

    def failed(self, model_id: UUID, version: str, error: str) -> None:
        model = self.app.load(Model, model_id)
        model.record_deployment_failed(version, self.engine, error)
        self.app.write(model)

    def undeployed(self, model_id: UUID, version: str) -> None:
        model = self.app.load(Model, model_id)
        model.record_undeployed(version)
        self.app.write(model)
