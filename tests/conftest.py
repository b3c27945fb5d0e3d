"""Fixtures shared by the suite: the app on either profile, over real stores."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from fastapi.testclient import TestClient

from infra.bootstrap import Container, build_container
from infra.http.app import create_app
from infra.settings import Settings
from tests.billing_support import WEBHOOK_SECRET
from tests.pipeline import flowing, running_deployer, running_pipeline, running_worker
from tests.plugins.databases import create_database, drop_database
from tests.support import ConsistentClient, MovableClock

if TYPE_CHECKING:  # a plugin module: imported here, pytest could not rewrite its asserts
    from tests.plugins.services import TritonEndpoint

pytest_plugins = ["tests.plugins.services"]

TEST_SECRET = "test-signing-secret-that-is-long-enough-0123456789"


@pytest.fixture(scope="session", autouse=True)
def empty_temporary_directory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The suite runs as on a fresh machine: the temporary directory it and its child
    processes see is new and empty, so nothing can lean on what an earlier run left there."""
    fresh = tmp_path_factory.mktemp("tmp")
    saved = tempfile.tempdir, os.environ.get("TMPDIR")
    tempfile.tempdir, os.environ["TMPDIR"] = str(fresh), str(fresh)
    yield fresh
    tempfile.tempdir = saved[0]
    if saved[1] is None:
        os.environ.pop("TMPDIR", None)
    else:
        os.environ["TMPDIR"] = saved[1]


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


@pytest.fixture(scope="session")
def cluster_settings(
    event_store_database_url: str,
    mongo_url: str,
    opensearch_url: str,
    kafka_bootstrap: str,
    redis_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Settings:
    """The cluster profile on the real services, with names of this test session's own."""
    tag = f"t{uuid.uuid4().hex[:8]}"
    return Settings(
        profile="cluster",
        database_url=event_store_database_url,
        mongo_url=mongo_url,
        mongo_database=tag,
        opensearch_url=opensearch_url,
        search_prefix=tag,
        kafka_bootstrap_servers=kafka_bootstrap,
        redis_url=redis_url,
        rate_limit_prefix=f"{tag}:rl:",
        event_topic_prefix=f"{tag}.events.",
        event_partitions=3,
        worker_group=f"{tag}-projections",
        jwt_secret=TEST_SECRET,
        data_dir=tmp_path_factory.mktemp("cluster"),
        argon2_time_cost=1,
        argon2_memory_kib=8,
        # The API writes the ledger itself: tests of the Kafka path ask for it by name.
        usage_sink="ledger",
        # Stateful payment scenarios need the simulated provider (stripe-mock keeps no
        # state); the Stripe adapter has its own tests (tests/integration/test_stripe_gateway.py).
        payments="simulated",
        stripe_webhook_secrets=WEBHOOK_SECRET,
    )


@pytest.fixture(scope="session")
def cluster_pipeline(
    cluster_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """`aimarket relay` and `aimarket worker projections`, running for the whole session."""
    with running_pipeline(cluster_settings, tmp_path_factory.mktemp("pipeline")) as processes:
        flowing(cluster_settings)
        yield processes


@pytest.fixture(scope="session")
def cluster_inference_settings(cluster_settings: Settings, triton: TritonEndpoint) -> Settings:
    """The cluster profile calling the real Triton, deploying into its repository."""
    return cluster_settings.model_copy(
        update={
            "triton_url": triton.http_url,
            "triton_grpc_url": triton.grpc_url,
            "triton_model_repository": triton.model_repository,
            "job_topic": f"{cluster_settings.worker_group}.jobs",
        }
    )


@pytest.fixture(scope="module")
def cluster_job_worker(
    cluster_inference_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    """`aimarket worker inference` (async jobs from Kafka) for one test module."""
    logs = tmp_path_factory.mktemp("jobs")
    with running_worker(cluster_inference_settings, "inference", logs) as process:
        yield process


@pytest.fixture(scope="module")
def cluster_deployer(
    cluster_inference_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    """`aimarket worker deployer` for one test module (from the log's head on)."""
    with running_deployer(cluster_inference_settings, tmp_path_factory.mktemp("deployer")) as p:
        yield p


@pytest.fixture
def settings(profile: str, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    if profile == "cluster":
        request.getfixturevalue("cluster_pipeline")
        cluster: Settings = request.getfixturevalue("cluster_settings")
        # Buckets of the test's own: the shared Redis outlives a test, the in-process ones not.
        return cluster.model_copy(update={"rate_limit_prefix": f"rl:{uuid.uuid4().hex[:10]}:"})
    return Settings(
        profile="embedded",
        argon2_time_cost=1,
        argon2_memory_kib=8,
        data_dir=tmp_path,
        stripe_webhook_secrets=WEBHOOK_SECRET,
    )


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
def container(settings: Settings, clock: MovableClock) -> Iterator[Container]:
    built = build_container(settings, clock=clock)
    built.start_runner()
    yield built
    built.close()


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    with ConsistentClient(create_app(container), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def outbox(settings: Settings) -> Path:
    return settings.data_dir / "outbox"
