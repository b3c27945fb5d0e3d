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
import threading
from typing import Any
from uuid import UUID

from eventsourcing.utils import get_topic

from commands.deployments import DeploymentCommands
from commands.event_store import EventStore
from commands.inference_ports import DeploymentFailed, ModelDeployer
from domain.model import Model, ModelStatus
from projections.ports import Position, ReadStore
from workers.notifications import last_position

log = logging.getLogger("aimarket.deployer")
TRACKER = "deployer"
POSITION_COLLECTION = "models"  # any collection carries a position; the deployer has none
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


class DeployerWorker:
    """Follows the log from its tracked position; `run_forever` until `stopping` is set."""

    def __init__(
        self, app: EventStore, store: ReadStore, deployer: Deployer, batch: int = 100
    ) -> None:
        self.app, self.store, self.deployer, self.batch = app, store, deployer, batch
        self.topics = deployer_topics()
        self.stopping, self.wake = threading.Event(), threading.Event()
        self._thread: threading.Thread | None = None

    def position(self) -> int:
        return self.store.position(TRACKER)

    def run_once(self) -> bool:
        """Handle the next stretch of the log; False when there was nothing new."""
        start, head = self.position(), last_position(self.app)
        if head <= start:
            return False
        found = self.app.recorder.select_notifications(
            start=start + 1, limit=self.batch, stop=head, topics=self.topics
        )
        for notification in found:
            if self.stopping.is_set():
                return False
            self.deployer.handle(self.app.mapper.to_domain_event(notification))
            self._advance(notification.id)
        # Positions up to `head` are committed (commit order is id order): a short answer
        # means nothing of ours lies between the last one found and `head`.
        if len(found) < self.batch:
            self._advance(head)
        return True

    def _advance(self, position: int) -> None:
        self.store.apply(POSITION_COLLECTION, [], Position(TRACKER, position))

    def run_forever(self, idle_wait_s: float = 1.0) -> None:
        backoff = 0.1
        while not self.stopping.is_set():
            try:
                while self.run_once() and not self.stopping.is_set():
                    pass
                backoff = 0.1
            except Exception:  # the engine or a store is away: the same event, shortly
                log.exception("deployer step failed; retrying in %.1fs", backoff)
                self.stopping.wait(backoff)
                backoff = min(backoff * 2, 30.0)
                continue
            self.wake.wait(idle_wait_s)
            self.wake.clear()

    def nudge(self, _batch: object = None) -> None:
        """The embedded runner's hook: new events are stored; look now."""
        self.wake.set()

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run_forever, name="deployer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
