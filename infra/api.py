"""`create_app(container)`: the FastAPI app over one profile's container."""

from __future__ import annotations

from fastapi import FastAPI

from commands.http import admin_routes, auth_routes, model_routes
from infra.bootstrap import Container
from infra.http import ops
from infra.http.errors import install_error_handlers
from infra.http.middleware import RequestContextMiddleware
from queries.http import routes as query_routes

DESCRIPTION = """An open AI model marketplace.

Authenticate people with `Authorization: Bearer <access token>` from `/v1/auth/login`,
and programs with `X-API-Key: aimpk_...`. Every error has the body
`{"error": {"code", "message", "request_id"}}`; `code` is stable.
"""


def create_app(container: Container) -> FastAPI:
    app = FastAPI(title="aimarket", version="0.1.0", description=DESCRIPTION)
    app.state.container = container
    app.state.auth = container.auth
    app.state.api_keys = container.api_keys
    app.state.model_commands = container.model_commands
    app.state.account_queries = container.account_queries
    app.state.audit = container.audit
    app.state.readiness = container.readiness
    app.state.progress = container.read.progress
    routers = (
        auth_routes.router,
        admin_routes.router,
        model_routes.router,
        query_routes.router,
        ops.router,
    )
    for router in routers:
        app.include_router(router)
    install_error_handlers(app)
    app.add_middleware(RequestContextMiddleware, max_body_bytes=container.settings.max_body_bytes)
    return app
