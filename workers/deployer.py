"""The deployer: follows the event store's log and puts published versions on the
inference engine (Triton in the cluster, onnxruntime in process when embedded), takes a
model's versions off when it is deprecated or deleted, and records each outcome on the
Model (`Model.Deployed`, `Model.DeploymentFailed`, `Model.Undeployed`).

Cluster: `aimarket worker deployer`; embedded: a thread of the API process, woken after
each batch the in-process runner applies. Its position (under "deployer") moves past an
event only once the event is handled; the engine being away is retried with backoff, a
version the engine refuses is recorded as failed. Deploying and undeploying are
idempotent, so an event handled twice (a crash before the position moved) is harmless.
"""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

from eventsourcing.utils import get_topic

from commands.deployments import DeploymentCommands
from commands.event_store import EventStore
from commands.inference_ports import DeploymentFailed, ModelDeployer
from domain.model import Model, ModelStatus
from projections.ports import ReadStore
from workers.follower import POSITION_COLLECTION as POSITIONS
from workers.follower import LogFollower

log = logging.getLogger("aimarket.deployer")
TRACKER = "deployer"
POSITION_COLLECTION = POSITIONS  # any collection carries a position; the deployer has none
DEPLOY_ON = ("VersionPublished", "DefaultVersionChanged")
UNDEPLOY_ON = ("Deprecated", "Deleted")


def deployer_topics() -> list[str]:
    return sorted(get_topic(getattr(Model, name)) for name in (*DEPLOY_ON, *UNDEPLOY_ON))


class Deployer:
    """What one event asks of the engine."""

    def __init__(self, commands: DeploymentCommands, engine: ModelDeployer) -> None:
        self.commands, self.engine = commands, engine

    def handle(self, event: Any) -> None:
        kind, model_id = type(event).__name__, UUID(str(event.originator_id))
        if kind == "DefaultVersionChanged" and event.previous is None:
            return  # the first publish: its VersionPublished deploys it
        if kind in DEPLOY_ON:
            self.deploy(model_id, str(event.version))
        elif kind in UNDEPLOY_ON:
            self.undeploy_all(model_id)

    def deploy(self, model_id: UUID, version: str) -> None:
        model = self.commands.app.load(Model, model_id)
        if model.status in (ModelStatus.DEPRECATED, ModelStatus.DELETED):
            return  # caught up with a model that is gone since: its own event undeploys
        for target in self.commands.targets(model_id, [version]):
            try:
                self.engine.deploy(target)
            except DeploymentFailed as error:
                log.warning("deploying %s %s failed: %s", model_id, version, error)
                self.commands.failed(model_id, target.version, str(error))
            else:
                self.commands.deployed(model_id, target.version)

    def undeploy_all(self, model_id: UUID) -> None:
        for target in self.commands.targets(model_id):
            self.engine.undeploy(target)
            self.commands.undeployed(model_id, target.version)


class DeployerWorker(LogFollower):
    """Follows the log from its tracked position (workers/follower.py); `run_forever`
    until `stopping` is set."""

    def __init__(
        self, app: EventStore, store: ReadStore, deployer: Deployer, batch: int = 100
    ) -> None:
        super().__init__(TRACKER, app, store, deployer_topics(), deployer.handle, batch)
        self.deployer = deployer
