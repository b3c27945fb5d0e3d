"""Fixtures shared by the suite: the app on either profile, over real stores."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from infra.api import create_app
from infra.bootstrap import Container, build_container
from infra.settings import Settings
from tests.plugins.databases import create_database, drop_database
from tests.support import MovableClock

pytest_plugins = ["tests.plugins.services"]

TEST_SECRET = "test-signing-secret-that-is-long-enough-0123456789"


@pytest.fixture(scope="session")
def event_store_database_url(postgres_url: str) -> Iterator[str]:
    """One fresh PostgreSQL event store for the session; tests isolate by unique emails."""
    name = f"aimarket_test_{uuid.uuid4().hex[:10]}"
    yield create_database(postgres_url, name)
    drop_database(postgres_url, name)


@pytest.fixture(params=["embedded", "cluster"])
def profile(request: pytest.FixtureRequest) -> str:
    """Behaviour tests that take `profile` run on both event stores."""
    return str(request.param)


@pytest.fixture
def settings(profile: str, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    fast = {"argon2_time_cost": 1, "argon2_memory_kib": 8, "data_dir": tmp_path}
    if profile == "cluster":
        url = request.getfixturevalue("event_store_database_url")
        return Settings(profile="cluster", database_url=url, jwt_secret=TEST_SECRET, **fast)
    return Settings(profile="embedded", **fast)


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
def container(settings: Settings, clock: MovableClock) -> Iterator[Container]:
    built = build_container(settings, clock=clock)
    yield built
    built.close()


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def outbox(settings: Settings) -> Path:
    return settings.data_dir / "outbox"
