"""Set-ups the access and review tests share: versions published without an upload (the
artifacts recorded straight on the aggregate) and a consumer recorded as a user of a
model, as the metering roll-up records calls."""

from __future__ import annotations

from uuid import UUID, uuid4

from fastapi.testclient import TestClient

from domain.model import Model
from infra.bootstrap import Container
from tests.support import Account, MovableClock


def publish(client: TestClient, container: Container, owner: Account, model_id: str) -> None:
    """Versions 1.0.0 and 1.1.0 published, 1.2.0 validated only (uploads are another
    command's work: the artifacts are recorded straight on the aggregate)."""
    model = container.app.load(Model, UUID(model_id))
    for version in ("1.0.0", "1.1.0", "1.2.0"):
        model.upload_version(version, "sha256:" + "b" * 64, 10, uuid4())
        model.validate_version(version, "onnx", {"inputs": [], "outputs": []})
    container.app.save(model)
    for version in ("1.0.0", "1.1.0"):
        url = f"/v1/models/{model_id}/versions/{version}/publish"
        assert client.post(url, headers=owner.headers).status_code == 200


def used(container: Container, consumer: Account, model_id: str, clock: MovableClock) -> None:
    day = clock.now().date().isoformat()
    container.usage.record_usage(UUID(consumer.id), UUID(model_id), day, 3, 2)
