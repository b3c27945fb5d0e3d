"""Where the tests' real services come from: native, containers or external.

`AIMARKET_TEST_SERVICES` picks the mode for the whole session:

- `native` (default): the project's own servers under var/services/, brought
  up through the service manager when they are not running yet, and stopped at
  the end of the session only if this session started them
  (`AIMARKET_TEST_SERVICES_KEEP=1` keeps them running for the next run).
- `containers`: testcontainers, where a Docker engine answers.
- `external`: the `AIMARKET_*` variables the app itself reads.

Whatever the mode, a service that cannot be reached is an error that names the
service, the mode and what to run; it is never a skip.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

MODE_VAR = "AIMARKET_TEST_SERVICES"
KEEP_VAR = "AIMARKET_TEST_SERVICES_KEEP"
MODES = ("native", "containers", "external")


@dataclass(frozen=True)
class ServiceSpec:
    key: str  # fixture and marker name
    service: str  # name in infra.services.registry
    env_vars: tuple[str, ...]  # what the app reads; the first one is probed


SPECS: dict[str, ServiceSpec] = {
    spec.key: spec
    for spec in (
        ServiceSpec("postgres", "postgres", ("AIMARKET_DATABASE_URL",)),
        ServiceSpec("redis", "redis", ("AIMARKET_REDIS_URL",)),
        ServiceSpec("kafka", "kafka", ("AIMARKET_KAFKA_BOOTSTRAP_SERVERS",)),
        ServiceSpec("mongo", "ferretdb", ("AIMARKET_MONGO_URL",)),
        ServiceSpec("opensearch", "opensearch", ("AIMARKET_OPENSEARCH_URL",)),
        ServiceSpec(
            "triton",
            "triton",
            ("AIMARKET_TRITON_URL", "AIMARKET_TRITON_GRPC_URL", "AIMARKET_TRITON_MODEL_REPOSITORY"),
        ),
        ServiceSpec(
            "stripe", "stripe-mock", ("AIMARKET_STRIPE_API_BASE", "AIMARKET_STRIPE_API_KEY")
        ),
    )
}


class Unavailable(Exception):
    """A service the test needs cannot be reached; the message says what to run."""


class Provider(Protocol):
    mode: str

    def env(self, spec: ServiceSpec) -> dict[str, str]: ...

    def close(self) -> None: ...


def make_provider() -> Provider:
    mode = os.environ.get(MODE_VAR, "native").strip().lower() or "native"
    if mode == "native":
        from tests.plugins.native import NativeProvider

        return NativeProvider(keep=os.environ.get(KEEP_VAR, "") not in ("", "0"))
    if mode == "external":
        return ExternalProvider()
    if mode == "containers":
        from tests.plugins.containers import ContainersProvider

        return ContainersProvider()
    raise Unavailable(f"{MODE_VAR}={mode!r} is not a mode; use one of {', '.join(MODES)}")


Fetch = Callable[[ServiceSpec], dict[str, str]]


def cached(fetch: Fetch) -> Fetch:
    """Ask once per service per session; a failure is remembered, not retried per test."""
    results: dict[str, dict[str, str] | Unavailable] = {}

    def get(spec: ServiceSpec) -> dict[str, str]:
        if spec.key not in results:
            try:
                results[spec.key] = fetch(spec)
            except Unavailable as exc:
                results[spec.key] = exc
        result = results[spec.key]
        if isinstance(result, Unavailable):
            raise result
        return result

    return get


class ExternalProvider:
    mode = "external"

    def __init__(self) -> None:
        self.env = cached(self._env)

    def _env(self, spec: ServiceSpec) -> dict[str, str]:
        missing = [var for var in spec.env_vars if not os.environ.get(var)]
        if missing:
            raise Unavailable(
                f"{spec.key} (mode external): {', '.join(missing)} not set. Set "
                f"{', '.join(spec.env_vars)} to a running {spec.service}, or unset {MODE_VAR} "
                f"to use the project's own servers (`python -m infra.services up {spec.service}`)"
            )
        values = {var: os.environ[var] for var in spec.env_vars}
        address = values[spec.env_vars[0]]
        if not tcp_reachable(address):
            raise Unavailable(
                f"{spec.key} (mode external): nothing answers at {address} "
                f"({spec.env_vars[0]}); start {spec.service} there or fix the variable"
            )
        return values

    def close(self) -> None:
        pass


def host_port(address: str) -> tuple[str, int]:
    """`http://h:p/x`, `postgresql://u:p@h:p/db`, `h:p` or `h:p,h2:p2` -> (h, p) of the first."""
    first = address.split(",")[0].strip()
    parts = urlsplit(first if "://" in first else f"tcp://{first}")
    default = {"http": 80, "https": 443, "postgresql": 5432, "redis": 6379, "mongodb": 27017}
    return parts.hostname or "127.0.0.1", parts.port or default.get(parts.scheme, 0)


def tcp_reachable(address: str, timeout_s: float = 2.0) -> bool:
    host, port = host_port(address)
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False
