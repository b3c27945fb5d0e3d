"""Native mode: the project's own servers, through the service manager."""

from __future__ import annotations

from infra.services.base import ServiceError
from infra.services.manager import ServiceManager, default_context
from tests.plugins.service_modes import ServiceSpec, Unavailable, cached


class NativeProvider:
    mode = "native"

    def __init__(self, keep: bool) -> None:
        self.keep = keep
        self.lines: list[str] = []
        # The same checkout the CLI and `make services-up` use (AIMARKET_SERVICES_ROOT).
        self.manager = ServiceManager(default_context(), out=self.lines.append)
        self.env = cached(self._env)

    def _env(self, spec: ServiceSpec) -> dict[str, str]:
        try:
            service = self.manager.load(spec.service)
            if not service.is_ready():
                self.lines.clear()
                if self.manager.up([spec.service]):
                    raise ServiceError("\n".join(self.lines) or "failed to start")
            return service.env()
        except (ServiceError, OSError) as exc:
            ctx = self.manager.ctx
            log = ctx.log_file(spec.service).relative_to(ctx.root)
            raise Unavailable(
                f"{spec.key} (mode native) is not available: {exc}\n"
                f"Run `make services-up` or `python -m infra.services up {spec.service}`; "
                f"log: {log}"
            ) from exc

    def close(self) -> None:
        """Stop what this session started, so a bare `pytest` leaves no servers behind.

        The manager records only the processes it launched itself: a server
        another command started (even one still starting up) is left alone.
        """
        if self.manager.started and not self.keep:
            self.manager.down(self.manager.started)
