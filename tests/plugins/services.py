"""Pytest fixtures for the real services (register with `pytest_plugins`).

Each endpoint fixture is session-scoped and comes from the mode chosen by
`AIMARKET_TEST_SERVICES` (see `service_modes`). Tests share the servers and
isolate themselves by names: `unique_name` for topics, indexes, databases and
key prefixes, `fresh_database_url` for a PostgreSQL database of their own.
A service that cannot be reached fails the test with what to run; it never skips.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.plugins.databases import create_database, drop_database
from tests.plugins.service_modes import SPECS, Provider, Unavailable, make_provider


@dataclass(frozen=True)
class TritonEndpoint:
    http_url: str  # host:port, as tritonclient.http wants it
    grpc_url: str  # host:port, as tritonclient.grpc wants it
    model_repository: Path  # the server's repository, writable by the tests


@dataclass(frozen=True)
class StripeEndpoint:
    api_base: str
    api_key: str


@pytest.fixture(scope="session")
def service_provider() -> Iterator[Provider]:
    provider = _provider_or_fail()
    yield provider
    provider.close()


def _provider_or_fail() -> Provider:
    try:
        return make_provider()
    except Unavailable as exc:
        reason = str(exc)  # fail outside `except`: no chained traceback in the report
    pytest.fail(reason, pytrace=False)


def _endpoint(provider: Provider, key: str) -> dict[str, str]:
    try:
        return provider.env(SPECS[key])
    except Unavailable as exc:
        reason = str(exc)
    pytest.fail(reason, pytrace=False)


@pytest.fixture(scope="session")
def postgres_url(service_provider: Provider) -> str:
    return _endpoint(service_provider, "postgres")["AIMARKET_DATABASE_URL"]


@pytest.fixture(scope="session")
def redis_url(service_provider: Provider) -> str:
    return _endpoint(service_provider, "redis")["AIMARKET_REDIS_URL"]


@pytest.fixture(scope="session")
def kafka_bootstrap(service_provider: Provider) -> str:
    return _endpoint(service_provider, "kafka")["AIMARKET_KAFKA_BOOTSTRAP_SERVERS"]


@pytest.fixture(scope="session")
def mongo_url(service_provider: Provider) -> str:
    return _endpoint(service_provider, "mongo")["AIMARKET_MONGO_URL"]


@pytest.fixture(scope="session")
def opensearch_url(service_provider: Provider) -> str:
    return _endpoint(service_provider, "opensearch")["AIMARKET_OPENSEARCH_URL"]


@pytest.fixture(scope="session")
def triton(service_provider: Provider) -> TritonEndpoint:
    env = _endpoint(service_provider, "triton")
    return TritonEndpoint(
        http_url=env["AIMARKET_TRITON_URL"],
        grpc_url=env["AIMARKET_TRITON_GRPC_URL"],
        model_repository=Path(env["AIMARKET_TRITON_MODEL_REPOSITORY"]),
    )


@pytest.fixture(scope="session")
def stripe_api(service_provider: Provider) -> StripeEndpoint:
    env = _endpoint(service_provider, "stripe")
    return StripeEndpoint(
        api_base=env["AIMARKET_STRIPE_API_BASE"], api_key=env["AIMARKET_STRIPE_API_KEY"]
    )


@pytest.fixture
def unique_name() -> Callable[..., str]:
    """`unique_name()` -> 't_1a2b3c4d'; `unique_name('orders')` -> 'orders_1a2b3c4d'.

    Lowercase letters, digits and '_': valid as a PostgreSQL database, Kafka
    topic, OpenSearch index, MongoDB database and Redis key prefix.
    """

    def make(prefix: str = "t") -> str:
        return f"{prefix}_{uuid.uuid4().hex[:8]}"

    return make


@pytest.fixture
def fresh_database_url(postgres_url: str, unique_name: Callable[..., str]) -> Iterator[str]:
    """A new, empty PostgreSQL database on the shared server, dropped afterwards."""
    name = unique_name("t")
    yield create_database(postgres_url, name)
    drop_database(postgres_url, name)
