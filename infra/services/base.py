"""The contract every locally run service follows (no Docker on our machines).

A service installs itself from a package registry into `var/` (or the
machine's package manager), starts as a detached process bound to 127.0.0.1,
answers a readiness probe, stops, and tells the app which environment
variables point at it. The manager in `manager.py` drives these steps.
"""

from __future__ import annotations

import os
import shutil
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

Progress = Callable[[str], None]


class ServiceError(RuntimeError):
    """A service could not be installed or started; the message says what to do next."""


@dataclass(frozen=True)
class ServiceContext:
    """Where services keep their files: everything under the project's `var/`.
    `installed_in`: another root whose `var/cache` holds the installed servers (jars,
    binaries), for a scratch instance with data of its own (the chaos test's Kafka)."""

    root: Path
    installed_in: Path | None = None

    @property
    def var(self) -> Path:
        return self.root / "var"

    @property
    def cache(self) -> Path:
        return (self.installed_in or self.root) / "var" / "cache"

    def service_dir(self, name: str) -> Path:
        return self.var / "services" / name

    def log_file(self, name: str) -> Path:
        return self.service_dir(name) / f"{name}.log"

    def pid_file(self, name: str) -> Path:
        return self.service_dir(name) / f"{name}.pid"


class Service(ABC):
    """One real server run by the project itself."""

    name: ClassVar[str]
    default_port: ClassVar[int]
    ready_timeout_s: ClassVar[float] = 60.0

    def __init__(self, ctx: ServiceContext, port: int | None = None) -> None:
        self.ctx = ctx
        self._port = port

    @property
    def port(self) -> int:
        """The port given, else `AIMARKET_SERVICES_<NAME>_PORT` (dashes as underscores),
        else the default."""
        if self._port is not None:
            return self._port
        key = self.name.upper().replace("-", "_")
        override = os.environ.get(f"AIMARKET_SERVICES_{key}_PORT")
        return int(override) if override else self.default_port

    @property
    def dir(self) -> Path:
        return self.ctx.service_dir(self.name)

    @property
    def log_file(self) -> Path:
        return self.ctx.log_file(self.name)

    def required_tools(self) -> dict[str, str]:
        """Executables this service needs, mapped to how to get each one."""
        return {}

    def missing_tools(self) -> list[str]:
        return [
            f"{tool}: {how}"
            for tool, how in self.required_tools().items()
            if shutil.which(tool) is None
        ]

    @abstractmethod
    def is_installed(self) -> bool: ...

    @abstractmethod
    def install(self, progress: Progress) -> None: ...

    @abstractmethod
    def start(self) -> None:
        """Start detached (new session), logging to `self.log_file`, pid in the pid file."""

    @abstractmethod
    def is_ready(self) -> bool:
        """One cheap probe (a TCP connect is not enough where the server says more)."""

    @abstractmethod
    def stop(self) -> None: ...

    @abstractmethod
    def env(self) -> dict[str, str]:
        """The `AIMARKET_*` variables the app and the tests read to reach this service."""
