"""A PostgreSQL and a Kafka of a test's own, for a test that restarts them (the chaos test):
the project's own service code (infra/services) on a scratch root, with the servers the
running checkout installed (AIMARKET_SERVICES_ROOT: PostgreSQL's binaries, Kafka's jars),
their own data directories and free ports. The shared servers are never touched."""

from __future__ import annotations

import shutil
import signal
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from infra.services.base import Service, ServiceContext
from infra.services.kafka import Kafka
from infra.services.manager import default_context
from infra.services.postgres import Postgres
from infra.services.process import stop_pid_file, wait_until_ready


@dataclass(frozen=True)
class Private:
    """One server of the test's own: started, crashed (SIGKILL of its process group: no
    shutdown, a real crash) and started again."""

    service: Service

    def start(self) -> None:
        self.service.start()
        wait_until_ready(self.service)

    def crash(self) -> None:
        pid_file = self.service.ctx.pid_file(self.service.name)
        stop_pid_file(pid_file, sig=signal.SIGKILL, timeout_s=10, group=True)

    def restart(self, crash: bool = True) -> None:
        """Crashed, or stopped the server's fastest way (PostgreSQL: connections cut, no
        wait for clients), then started again."""
        self.crash() if crash else self.stop()
        self.start()

    def stop(self) -> None:
        self.service.stop()

    def env(self) -> dict[str, str]:
        return self.service.env()


@contextmanager
def private_services(root: Path) -> Iterator[tuple[Private, Private]]:
    """(PostgreSQL, Kafka), running for the block, their files under `root`."""
    with private_postgres(root) as postgres, private_kafka(root) as kafka:
        yield postgres, kafka


@contextmanager
def private_kafka(root: Path) -> Iterator[Private]:
    """A single-node KRaft Kafka of the caller's own, for the block."""
    ctx = ServiceContext(root, installed_in=default_context().root)
    kafka = Private(Kafka(ctx, port=_free_port(pair=True)))
    kafka.start()
    try:
        yield kafka
    finally:
        kafka.stop()


@contextmanager
def private_postgres(root: Path) -> Iterator[Private]:
    """A PostgreSQL cluster of the caller's own (initdb: a few seconds), for the block."""
    postgres = Postgres(ServiceContext(root, installed_in=default_context().root), _free_port())
    try:
        postgres.install(lambda _line: None)
        private = Private(postgres)
        private.start()
        yield private
    finally:
        postgres.stop()
        # As root, the cluster lives in /var/tmp/aimarket-<digest of root>/postgres/data
        # (infra/services/postgres.py data_dir): that folder is this test's alone.
        if not postgres.data_dir.is_relative_to(root):
            shutil.rmtree(postgres.data_dir.parents[1], ignore_errors=True)


def _free_port(pair: bool = False) -> int:
    """A free port (and, for Kafka's controller, the next one free too)."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port: int = sock.getsockname()[1]
        if not pair or _bindable(port + 1):
            return port


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True
