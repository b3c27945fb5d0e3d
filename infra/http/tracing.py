"""A server span per HTTP request, pure ASGI (no BaseHTTPMiddleware, no instrumentation
package: its per-message spans and metrics cost more than we need).

The span continues a caller's `traceparent`, is named `METHOD /route/{template}` once the
router has matched (the path itself would make one name per id), and carries the status.
Unsampled requests get the tracer's non-recording span and nothing else.
"""

from __future__ import annotations

from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from commands.tracing import context_from, tracer

_TRACEPARENT = b"traceparent"


def _traceparent(scope: Scope) -> bytes | None:
    for name, value in scope["headers"]:
        if name == _TRACEPARENT:
            return bytes(value)
    return None


class TracingMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        parent = context_from(_traceparent(scope))
        method = scope["method"]
        with tracer.start_as_current_span(method, context=parent, kind=SpanKind.SERVER) as span:
            if not span.is_recording():
                await self.app(scope, receive, send)
                return
            await self._recorded(span, scope, receive, send)

    async def _recorded(self, span: Span, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                status = message["status"]
                span.set_attribute("http.response.status_code", status)
                if status >= 500:
                    span.set_status(Status(StatusCode.ERROR))
            await send(message)

        span.set_attribute("http.request.method", scope["method"])
        try:
            await self.app(scope, receive, send_status)
        finally:
            route = getattr(scope.get("route"), "path", None)
            if route is not None:
                span.update_name(f"{scope['method']} {route}")
                span.set_attribute("http.route", route)
