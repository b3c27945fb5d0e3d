"""Drives the services: install what is missing, start what is stopped, report.

Each service is handled on its own: one that fails to load, install or start
is reported with what to do next, and the others still go up or down.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shlex
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from infra.services import process
from infra.services.base import Service, ServiceContext, ServiceError
from infra.services.registry import SERVICE_CLASSES, load_service

Output = Callable[[str], None]


def default_context() -> ServiceContext:
    """The checkout this code lives in (AIMARKET_SERVICES_ROOT overrides it)."""
    root = os.environ.get("AIMARKET_SERVICES_ROOT")
    return ServiceContext(Path(root) if root else Path(__file__).resolve().parents[2])


@dataclass(frozen=True)
class ServiceState:
    name: str
    port: int | None
    state: str  # ready | starting | stopped | not installed | error
    pid: int | None
    rss_mib: float
    detail: str = ""


class ServiceManager:
    def __init__(self, ctx: ServiceContext | None = None, out: Output = print) -> None:
        self.ctx = ctx or default_context()
        self.out = out
        self.started: list[str] = []  # what `up` started, so a caller can stop just those

    def names(self, names: Sequence[str] = ()) -> list[str]:
        """The asked-for names in start order (all services when none is given)."""
        unknown = [name for name in names if name not in SERVICE_CLASSES]
        if unknown:
            known = ", ".join(SERVICE_CLASSES)
            raise ServiceError(f"unknown service(s) {', '.join(unknown)}; known: {known}")
        return [name for name in SERVICE_CLASSES if not names or name in names]

    def load(self, name: str) -> Service:
        """The service object, or a ServiceError when its module cannot be imported."""
        try:
            return load_service(name, self.ctx)
        except Exception as exc:  # a syntax error in a service module is reported, not fatal
            target = SERVICE_CLASSES.get(name, "?")
            raise ServiceError(f"cannot load {target}: {type(exc).__name__}: {exc}") from exc

    @contextlib.contextmanager
    def _exclusive(self) -> Iterator[None]:
        """One `up` or `down` at a time per checkout: two at once would install into the
        same folders or stop a process the other one just started."""
        lock_path = self.ctx.var / "services" / ".manager.lock"
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        with lock_path.open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def up(self, names: Sequence[str] = ()) -> list[str]:
        """Bring the services up; return the names that failed (already reported)."""
        with self._exclusive():
            return self._up(names)

    def _up(self, names: Sequence[str]) -> list[str]:
        failed: list[str] = []
        for name in self.names(names):
            started = time.monotonic()
            try:
                if self._up_one(name):
                    self.started.append(name)
            except Exception as exc:  # one broken service must not stop the others
                failed.append(name)
                self.out(
                    f"{name}: FAILED after {time.monotonic() - started:.1f}s: {_describe(exc)}"
                )
        return failed

    def _up_one(self, name: str) -> bool:
        """Bring one service up; True when this call started its process."""
        service = self.load(name)
        started = time.monotonic()
        missing = service.missing_tools()
        if missing:
            raise ServiceError("missing tools: " + "; ".join(missing))
        install_s = 0.0
        if not service.is_installed():
            self.out(f"{name}: installing")
            service.install(lambda line: self.out(f"{name}:   {line}"))
            install_s = time.monotonic() - started
            self.out(f"{name}: installed in {install_s:.1f}s")
        if service.is_ready():
            self.out(f"{name}: already running on port {service.port}")
            return False
        starting = process.read_pid(self.ctx.pid_file(name)) is None
        if starting:
            service.start()
        else:
            self.out(f"{name}: process running, waiting until it is ready")
        waited = process.wait_until_ready(service)
        total = time.monotonic() - started
        self.out(f"{name}: ready on port {service.port} in {waited:.1f}s (total {total:.1f}s)")
        return starting

    def down(self, names: Sequence[str] = ()) -> list[str]:
        """Stop the services in reverse start order; return the names that failed."""
        with self._exclusive():
            return self._down(names)

    def _down(self, names: Sequence[str]) -> list[str]:
        failed: list[str] = []
        for name in reversed(self.names(names)):
            try:
                service = self.load(name)
                was_running = process.read_pid(self.ctx.pid_file(name)) is not None
                started = time.monotonic()
                service.stop()
            except Exception as exc:  # one broken service must not stop the others
                failed.append(name)
                self.out(f"{name}: FAILED: {_describe(exc)}")
                continue
            took = time.monotonic() - started
            self.out(f"{name}: stopped in {took:.1f}s" if was_running else f"{name}: not running")
        return failed

    def states(self, names: Sequence[str] = ()) -> list[ServiceState]:
        return [self._state(name) for name in self.names(names)]

    def _state(self, name: str) -> ServiceState:
        try:
            service = self.load(name)
        except ServiceError as exc:
            return ServiceState(name, None, "error", None, 0.0, str(exc))
        pid = process.read_pid(self.ctx.pid_file(name))
        rss = process.rss_mib(pid) if pid is not None else 0.0
        port: int | None = None
        try:
            port = service.port
            if service.is_ready():
                state = "ready"
            elif pid is not None:
                state = "starting"
            elif not service.is_installed():
                state = "not installed"
            else:
                state = "stopped"
        except Exception as exc:  # a probe that crashes is a state to show, not a crash
            return ServiceState(name, port, "error", pid, rss, _describe(exc))
        return ServiceState(name, port, state, pid, rss)

    def status(self, names: Sequence[str] = ()) -> list[ServiceState]:
        """Print a table of the services and the env the app reads; return the rows."""
        rows = self.states(names)
        self.out(f"{'service':<12} {'port':>6} {'state':<14} {'pid':>8} {'RSS MiB':>8}")
        for row in rows:
            port = str(row.port) if row.port is not None else "-"
            pid = str(row.pid) if row.pid is not None else "-"
            self.out(f"{row.name:<12} {port:>6} {row.state:<14} {pid:>8} {row.rss_mib:>8.1f}")
            if row.detail:
                self.out(f"{'':<12} {row.detail}")
        self.out(f"{'total':<12} {'':>6} {'':<14} {'':>8} {sum(r.rss_mib for r in rows):>8.1f}")
        self.out("")
        self.out("environment (eval $(aimarket services env)):")
        for line in self.env_lines(names):
            self.out(f"  {line}")
        return rows

    def logs(self, name: str, lines: int = 50) -> str:
        self.names([name])
        return process.tail(self.ctx.log_file(name), lines)

    def env_lines(self, names: Sequence[str] = (), on_error: Output | None = None) -> list[str]:
        """`export K=V` lines for every service that loads (the others go to `on_error`)."""
        lines: list[str] = []
        for name in self.names(names):
            try:
                service = self.load(name)
                env = service.env()
            except Exception as exc:  # e.g. a sibling's module mid-edit
                if on_error is not None:
                    on_error(f"{name}: {_describe(exc)}")
                continue
            lines.extend(f"export {key}={shlex.quote(value)}" for key, value in env.items())
        return lines


def _describe(exc: Exception) -> str:
    """A ServiceError says what to do already; anything else is a bug: name its type."""
    return str(exc) if isinstance(exc, ServiceError) else f"{type(exc).__name__}: {exc}"
