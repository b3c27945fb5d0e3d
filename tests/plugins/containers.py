"""Containers mode: testcontainers, for machines where a Docker engine answers.

One container per service per session, stopped at the end of the session.
Triton has no container here: the NGC image's Python backend lacks
onnxruntime and its model repository would have to be shared with the tests.
"""

from __future__ import annotations

import importlib
import time
from contextlib import ExitStack
from typing import Any

from tests.plugins.service_modes import MODE_VAR, ServiceSpec, Unavailable, cached, tcp_reachable

IMAGES = {
    "postgres": "postgres:16-alpine",
    "redis": "redis:7-alpine",
    "kafka": "confluentinc/cp-kafka:7.6.1",
    "mongo": "mongo:7",
    "opensearch": "opensearchproject/opensearch:2.17.1",
    "stripe": "stripe/stripe-mock:v0.188.0",
}


def _class(module: str, name: str) -> Any:
    """testcontainers 4.x moved its modules under `community` in later releases."""
    for path in (f"testcontainers.community.{module}", f"testcontainers.{module}"):
        try:
            return getattr(importlib.import_module(path), name)
        except ImportError:
            continue
    raise Unavailable(f"testcontainers has no {module} module; pip install 'testcontainers>=4.8'")


class ContainersProvider:
    mode = "containers"

    def __init__(self) -> None:
        self.stack = ExitStack()
        self.engine_checked = False
        self.env = cached(self._env)

    def _check_engine(self, spec: ServiceSpec) -> None:
        if self.engine_checked:
            return
        try:
            import docker

            docker.from_env().ping()
        except Exception as exc:  # any failure here means: no engine to talk to
            raise Unavailable(
                f"{spec.key} (mode containers): no Docker engine answers ({exc}). Start one, "
                f"or unset {MODE_VAR} to use the project's own servers "
                f"(`python -m infra.services up {spec.service}`)"
            ) from exc
        self.engine_checked = True

    def _env(self, spec: ServiceSpec) -> dict[str, str]:
        if spec.key == "triton":
            raise Unavailable(
                f"triton (mode containers) is not offered: use {MODE_VAR}=native "
                "(`python -m infra.services up triton`) or external with AIMARKET_TRITON_*"
            )
        self._check_engine(spec)
        try:
            return self._start(spec.key)
        except Unavailable:
            raise
        except Exception as exc:  # image pull, start or wait failures all end up here
            raise Unavailable(
                f"{spec.key} (mode containers): {IMAGES[spec.key]} did not start: {exc}"
            ) from exc

    def _start(self, key: str) -> dict[str, str]:
        image = IMAGES[key]
        if key == "postgres":
            pg = self._run(_class("postgres", "PostgresContainer")(image, driver=None))
            return {"AIMARKET_DATABASE_URL": pg.get_connection_url()}
        if key == "redis":
            rd = self._run(_class("redis", "RedisContainer")(image))
            return {"AIMARKET_REDIS_URL": f"redis://{_address(rd, 6379)}/0"}
        if key == "kafka":
            kf = self._run(_class("kafka", "KafkaContainer")(image))
            return {"AIMARKET_KAFKA_BOOTSTRAP_SERVERS": kf.get_bootstrap_server()}
        if key == "mongo":
            mg = self._run(_class("mongodb", "MongoDbContainer")(image))
            return {"AIMARKET_MONGO_URL": mg.get_connection_url()}
        if key == "opensearch":
            os_ = self._run(_class("opensearch", "OpenSearchContainer")(image))
            return {"AIMARKET_OPENSEARCH_URL": f"http://{_address(os_, 9200)}"}
        docker_container = importlib.import_module("testcontainers.core.container")
        sm = self._run(docker_container.DockerContainer(image).with_exposed_ports(12111))
        base = f"http://{_address(sm, 12111)}"
        _wait_tcp(base, 60.0)
        return {"AIMARKET_STRIPE_API_BASE": base, "AIMARKET_STRIPE_API_KEY": "sk_test_123"}

    def _run(self, container: Any) -> Any:
        started = container.start()
        self.stack.callback(container.stop)
        return started if started is not None else container

    def close(self) -> None:
        self.stack.close()


def _address(container: Any, port: int) -> str:
    return f"{container.get_container_host_ip()}:{container.get_exposed_port(port)}"


def _wait_tcp(address: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not tcp_reachable(address, timeout_s=1.0):
        if time.monotonic() > deadline:
            raise Unavailable(f"nothing answers at {address} after {timeout_s:.0f}s")
        time.sleep(0.5)
