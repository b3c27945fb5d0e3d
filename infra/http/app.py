"""`create_app(container)`: the FastAPI app over one profile's container."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.telemetry import TelemetryConfig

from infra.bootstrap import Container
from infra.http.cors import install_cors
from infra.http.errors import install_error_handlers
from infra.http.middleware import BodyLimit, RequestContextMiddleware
from infra.http.openapi import install_error_responses
from infra.http.ratelimit import RateLimitMiddleware, rate_limit_options
from infra.http.routes import ROUTERS
from infra.http.routes.inference import inference_limits
from infra.http.routes.stripe_webhooks import WEBHOOK_PATH
from infra.http.routes.uploads import PART_PATH
from infra.http.tracing import TracingMiddleware
from infra.web import install_web
from infra.web.model_page import PLAYGROUND_PATH
from infra.web.publisher_uploads import PAGE_PART_PATH

DESCRIPTION = """An open AI model marketplace.

Authenticate people with `Authorization: Bearer <access token>` from `/v1/auth/login`,
and programs with `X-API-Key: aimpk_...`. Every error has the body
`{"error": {"code", "message", "request_id"}}`; `code` is stable.
"""


def create_app(container: Container) -> FastAPI:
    # FastAPI's own telemetry builds a dozen attributes per request before sampling decides;
    # TracingMiddleware makes the same server span for the no-op's cost when unsampled.
    telemetry: TelemetryConfig = {"tracing": False, "operation_spans": False}
    app = FastAPI(title="aimarket", version="0.1.0", description=DESCRIPTION, telemetry=telemetry)
    app.state.container = container
    for router in ROUTERS:
        # The routes themselves, not include_router: FastAPI 0.165 keeps an included router
        # as a node matched route by route and then matched again to handle the request.
        app.router.routes.extend(router.routes)
    install_error_handlers(app)
    install_web(app, container)  # the pages for people, after the API's error handlers
    install_error_responses(app)
    # An upload's parts are the one large body: up to a part, plus slack so that a part a
    # little too long gets the route's clearer size_mismatch instead of a bare 413.
    # Added first, so it runs inside RequestContextMiddleware: its 429s carry the request id.
    app.add_middleware(RateLimitMiddleware, **rate_limit_options(container))
    part_bytes = container.settings.upload_part_bytes + 65536
    infer_bytes = container.settings.inference_max_body_bytes
    app.add_middleware(
        RequestContextMiddleware,
        max_body_bytes=container.settings.max_body_bytes,
        body_limits=[
            BodyLimit("PUT", PART_PATH, part_bytes),
            BodyLimit("PUT", PAGE_PART_PATH, part_bytes),  # the same, from the publisher's page
            *inference_limits(infer_bytes),
            BodyLimit("POST", PLAYGROUND_PATH, infer_bytes),
            BodyLimit("POST", WEBHOOK_PATH, container.settings.stripe_webhook_max_bytes),
        ],
    )
    app.add_middleware(TracingMiddleware)  # outermost of ours: its span holds the others' work
    install_cors(app, container.settings)  # outermost: a preflight is answered before the rest
    return app
