"""stripe-mock, the API server Stripe's own SDKs test against, built from the Go module proxy.

It answers like the Stripe API from Stripe's OpenAPI spec but keeps no
state: good for the adapter's contract, not for saga scenarios.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

from infra.services import installers, process
from infra.services.base import Progress, Service

# Pinned so a fresh machine builds what we tested (newest served in 2026-11).
MODULE = "github.com/stripe/stripe-mock@v0.203.0"
API_KEY = "sk_test_123"


class StripeMock(Service):
    name = "stripe-mock"
    default_port = 52111
    ready_timeout_s = 30.0

    @property
    def binary(self) -> Path:
        return self.ctx.cache / "go-bin" / "stripe-mock"

    def required_tools(self) -> dict[str, str]:
        if self.is_installed():
            return {}
        return {"go": "Go 1.22+ builds stripe-mock (Debian: apt-get install golang)"}

    def is_installed(self) -> bool:
        return installers.go_binary_current(self.ctx, "stripe-mock", MODULE)

    def install(self, progress: Progress) -> None:
        installers.go_install(MODULE, "stripe-mock", self.ctx, progress)

    def start(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        # stripe-mock always opens HTTPS too (on *:12112 unless told otherwise,
        # and -http-addr does not turn that off): park it on a unix socket,
        # relative to cwd so the path stays short. A stale socket file from a
        # killed run would make the listen fail.
        (self.dir / "https.sock").unlink(missing_ok=True)
        process.spawn(
            [str(self.binary), "-http-addr", f"127.0.0.1:{self.port}", "-https-unix", "https.sock"],
            log_file=self.log_file,
            pid_file=self.ctx.pid_file(self.name),
            cwd=self.dir,
        )

    def is_ready(self) -> bool:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/v1/customers?limit=1",
            headers={"Authorization": f"Bearer {API_KEY}"},
        )
        # A loopback probe must not go through an http_proxy from the environment.
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(request, timeout=2) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def stop(self) -> None:
        process.stop_pid_file(self.ctx.pid_file(self.name), timeout_s=10)

    def env(self) -> dict[str, str]:
        return {
            "AIMARKET_STRIPE_API_BASE": f"http://127.0.0.1:{self.port}",
            "AIMARKET_STRIPE_API_KEY": API_KEY,
        }
