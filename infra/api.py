"""`create_app(container)`: the FastAPI app over one profile's container."""

from __future__ import annotations

from fastapi import FastAPI

from commands.http import access_routes as access_commands
from commands.http import admin_routes, auth_routes, model_routes, upload_routes
from commands.http import review_routes as review_commands
from infra.bootstrap import Container
from infra.http import ops
from infra.http.errors import install_error_handlers
from infra.http.middleware import BodyLimit, RequestContextMiddleware
from infra.http.openapi import install_error_responses
from queries.http import access_routes as access_queries
from queries.http import model_routes as catalogue_routes
from queries.http import recommendation_routes
from queries.http import review_routes as review_queries
from queries.http import routes as query_routes
from queries.progress import ReadYourWrites

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
    app.state.model_queries = container.model_queries
    app.state.audit = container.audit
    app.state.access = container.access
    app.state.reviews = container.reviews
    app.state.access_queries = container.access_queries
    app.state.review_queries = container.review_queries
    app.state.recommendations = container.recommendations
    app.state.uploads = container.uploads
    app.state.downloads = container.downloads
    app.state.readiness = container.readiness
    app.state.read_your_writes = ReadYourWrites(
        container.read.progress, lambda: container.app.recorder.max_notification_id() or 0
    )
    routers = (
        auth_routes.router,
        admin_routes.router,
        model_routes.router,
        query_routes.router,
        access_commands.router,
        review_commands.router,
        access_queries.router,
        review_queries.router,
        catalogue_routes.router,
        recommendation_routes.router,
        upload_routes.router,
        ops.router,
    )
    for router in routers:
        app.include_router(router)
    install_error_handlers(app)
    install_error_responses(app)
    # An upload's parts are the one large body: up to a part, plus slack so that a part a
    # little too long gets the route's clearer size_mismatch instead of a bare 413.
    part_limit = BodyLimit(
        "PUT", upload_routes.PART_PATH, container.settings.upload_part_bytes + 65536
    )
    app.add_middleware(
        RequestContextMiddleware,
        max_body_bytes=container.settings.max_body_bytes,
        body_limits=[part_limit],
    )
    return app
