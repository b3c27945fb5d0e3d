"""The app each worker of `aimarket api --workers N` builds for itself: uvicorn starts
worker processes that import this factory, so each has its own container (connections,
caches) from the same environment. The parent prepared PROMETHEUS_MULTIPROC_DIR before
starting them, so /metrics in any worker sums every worker's figures."""

from __future__ import annotations

from fastapi import FastAPI

from infra.bootstrap import build_container
from infra.cli_common import load_settings
from infra.http.app import create_app
from infra.logs import configure_logging, secrets_of


def from_environment() -> FastAPI:
    settings = load_settings()
    configure_logging(settings.log_level, secrets_of(settings))
    container = build_container(settings)
    app = create_app(container)
    app.router.on_shutdown.append(container.close)
    return app
