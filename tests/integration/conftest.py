"""Workers the billing tests share on the cluster profile."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from infra.settings import Settings
from tests.pipeline import running_worker


@pytest.fixture(scope="module")
def cluster_purchase_worker(
    cluster_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    """`aimarket worker purchases`: the saga on Kafka, for a module's cluster tests."""
    with running_worker(cluster_settings, "purchases", tmp_path_factory.mktemp("saga")) as p:
        yield p


@pytest.fixture
def notifier(settings: Settings, tmp_path: Path) -> Iterator[None]:
    """`aimarket worker notifier` in the cluster; the container's own follower embedded."""
    if settings.profile != "cluster":
        yield
        return
    with running_worker(settings, "notifier", tmp_path / "logs"):
        yield


@pytest.fixture
def metering(settings: Settings, tmp_path: Path) -> Iterator[None]:
    """`aimarket worker metering` in the cluster (settings from `metered`); the
    container's own pricer embedded."""
    if settings.profile != "cluster":
        yield
        return
    with running_worker(settings, "metering", tmp_path / "logs"):
        yield
