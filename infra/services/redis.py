"""Redis 7 from Debian's packages, as our own instance: no persistence, loopback only."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

from infra.services import installers, process
from infra.services.base import Progress, Service

SERVER = "redis-server"


class Redis(Service):
    name = "redis"
    default_port = 56379
    ready_timeout_s = 30.0

    @property
    def config_file(self) -> Path:
        return self.dir / "redis.conf"

    def _binary(self) -> str | None:
        fallback = Path("/usr/bin") / SERVER  # where Debian puts it, even off PATH
        return shutil.which(SERVER) or (str(fallback) if fallback.exists() else None)

    def required_tools(self) -> dict[str, str]:
        if self._binary():
            return {}
        return {"apt-get": "Redis comes from Debian's package redis-server (run as root)"}

    def is_installed(self) -> bool:
        return self._binary() is not None

    def install(self, progress: Progress) -> None:
        if self._binary() is None:
            installers.apt_install(["redis-server"], progress, self.dir / "apt.log")

    def start(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        # Rate limits and quotas are short-lived: nothing is saved to disk.
        self.config_file.write_text(
            "\n".join(
                [
                    "bind 127.0.0.1",
                    f"port {self.port}",
                    "daemonize no",
                    'save ""',
                    "appendonly no",
                    f"dir {self.dir}",
                    'logfile ""',
                    "databases 16",
                    "maxclients 1000",
                    "",
                ]
            )
        )
        binary = self._binary() or SERVER
        process.spawn(
            [binary, str(self.config_file)],
            log_file=self.log_file,
            pid_file=self.ctx.pid_file(self.name),
            cwd=self.dir,
        )

    def is_ready(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"*1\r\n$4\r\nPING\r\n")
                return sock.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        process.stop_pid_file(self.ctx.pid_file(self.name), timeout_s=10)

    def env(self) -> dict[str, str]:
        return {"AIMARKET_REDIS_URL": f"redis://127.0.0.1:{self.port}/0"}
