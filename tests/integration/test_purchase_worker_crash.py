"""The cluster's saga worker killed (SIGKILL) after the provider charged and before the
capture was recorded, then started again: the purchase completes, charged once."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from uuid import UUID

import httpx
import pytest
from fastapi.testclient import TestClient

from domain.purchase import Purchase
from infra.bootstrap import Container
from infra.settings import Settings
from tests.inference_support import create_model
from tests.integration.test_purchases import PRICING
from tests.pipeline import start, stop, wait_until
from tests.purchase_support import add_card, all_captures, buy, inject, wait_state
from tests.serving import free_port
from tests.support import verified_account


@pytest.mark.parametrize("profile", ["cluster"])  # the faust worker is the cluster's
def test_a_saga_worker_killed_after_the_charge_restarts_and_completes_with_one_capture(
    client: TestClient, container: Container, settings: Settings, outbox: Path, tmp_path: Path
) -> None:
    publisher = verified_account(client, outbox, role="publisher")
    consumer = verified_account(client, outbox)
    model_id = create_model(client, publisher, pricing=PRICING)
    assert add_card(client, consumer).status_code == 201
    # The first worker never sweeps: only a restart can finish what it left.
    first = start(["worker", "purchases"], _sweeping(settings, 3600), tmp_path / "first.log")
    try:
        inject(container, "charge", "timeout_after_success")  # charged; the answer is lost
        before = all_captures(container)
        purchase_id = buy(client, consumer, model_id).json()["id"]
        wait_until(lambda: all_captures(container) == before + 1, 90, "the provider's charge")
        time.sleep(0.5)
        assert container.app.load(Purchase, UUID(purchase_id)).state == "requested"
    finally:
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=20)
    assert first.returncode == -signal.SIGKILL

    port = free_port()  # the restarted worker serves its own metrics: it ends the saga
    restarted = _sweeping(settings, 1).model_copy(update={"metrics_port": port})
    second = start(["worker", "purchases"], restarted, tmp_path / "second.log")
    try:
        done = wait_state(client, consumer, purchase_id, timeout_s=120)
        completed = 'aimarket_purchase_saga_outcomes_total{outcome="completed"} 1.0'
        wait_until(lambda: completed in _scrape(port), 10, "the worker's saga outcome")
    finally:
        stop(second)
    assert done["state"] == "completed", done
    assert all_captures(container) == before + 1
    assert container.inference.paid_access.has_paid_access(UUID(consumer.id), UUID(model_id))


def _sweeping(settings: Settings, every_s: float) -> Settings:
    return settings.model_copy(update={"purchase_sweep_interval_s": every_s})


def _scrape(port: int) -> list[str]:
    """The exposition lines of the worker's own metrics port."""
    return httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text.splitlines()
