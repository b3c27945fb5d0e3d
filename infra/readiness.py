"""What /v1/ready checks for a profile: the event store and read store always; in the
cluster also Kafka, OpenSearch, Redis (where rate limits use it) and Triton; the payment
provider (a cheap Stripe read, or "simulated"). Each probe is one cheap round trip and
raises when it gets no good answer. The cluster's clients are imported inside the probes
that use them, so the embedded profile needs none of the cluster extras."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from commands.event_store import EventStore
from commands.payment_ports import PaymentGateway
from infra.resilience import BreakerRegistry
from infra.settings import Settings
from projections.ports import ReadStore, SearchIndex
from queries.health import Check, Readiness


class NotServing(RuntimeError):
    """The dependency answered, but says it cannot serve."""


def readiness(
    settings: Settings,
    app: EventStore,
    store: ReadStore,
    search: SearchIndex,
    gateway: PaymentGateway,
    breakers: BreakerRegistry,
) -> Readiness:
    checks = [
        Check("event_store", app.recorder.max_notification_id),
        Check("read_store", lambda: store.position("readiness")),
    ]
    ping: Callable[[], object] | None = getattr(search, "ping", None)
    if ping is not None:  # OpenSearch; the embedded index lives in the read store's SQLite
        checks.append(Check("search", ping, breaker="opensearch"))
    if settings.profile == "cluster":
        checks += _cluster_checks(settings)
    payments = getattr(gateway, "ping", None) or _simulated
    checks.append(Check("payments", payments, required=False, breaker="payments"))
    return Readiness(checks, settings.ready_timeout_s, breakers.states)


def _simulated() -> str:
    return "simulated"


def _cluster_checks(settings: Settings) -> list[Check]:
    timeout = settings.ready_timeout_s
    checks = [Check("triton", functools.partial(_triton, settings.triton_grpc_url, timeout),
                    required=False, breaker="triton")]  # fmt: skip
    if settings.kafka_bootstrap_servers:
        checks.append(Check("kafka", _kafka_probe(settings.kafka_bootstrap_servers, timeout)))
    if settings.redis_url:
        checks.append(Check("redis", _redis_probe(settings.redis_url, timeout)))
    return checks


def _kafka_probe(bootstrap: str, timeout_s: float) -> Callable[[], object]:
    admin: list[Any] = []

    def probe() -> object:
        from confluent_kafka.admin import AdminClient

        if not admin:  # one client for the process: its connections are kept
            admin.append(AdminClient({"bootstrap.servers": bootstrap}))
        return admin[0].list_topics(timeout=timeout_s)

    return probe


def _redis_probe(url: str, timeout_s: float) -> Callable[[], object]:
    clients: list[Any] = []

    def probe() -> object:
        import redis

        if not clients:
            clients.append(redis.Redis.from_url(url, socket_timeout=timeout_s,
                                                socket_connect_timeout=timeout_s))  # fmt: skip
        return clients[0].ping()

    return probe


def _triton(grpc_url: str, timeout_s: float) -> None:
    import tritonclient.grpc as triton

    client = triton.InferenceServerClient(grpc_url)
    try:
        if not client.is_server_ready(client_timeout=timeout_s):
            raise NotServing("Triton is not ready")
    finally:
        client.close()
