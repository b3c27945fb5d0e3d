"""One pure-ASGI middleware: request id, body size limit, the answer to an unexpected
error (500, logged once with the request id), a JSON access log line (request and trace
ids, principal, route template, status, latency) and the HTTP metrics by route template.

Pure ASGI rather than BaseHTTPMiddleware, which costs a task and a copy per request.
Bodies are small JSON everywhere (`max_body_bytes`) except on the routes a `BodyLimit`
names, such as an upload's parts, which get their own larger limit.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import HTTPException
from psycopg import OperationalError
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from infra.http.errors import database_unavailable_body, error_body, internal_error_body
from infra.logs import bind_request, current_trace_id, trace_id_from, unbind_request
from infra.metrics import observe_request

access_log = logging.getLogger("aimarket.access")
error_log = logging.getLogger("aimarket.errors")
UNMATCHED = "<unmatched>"  # the route label of a request no route took (a 404)
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


class BodyTooLarge(HTTPException):
    """An HTTPException so that FastAPI's body parsing lets it through to the error handler."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the body is larger than {limit} bytes")


@dataclass(frozen=True)
class BodyLimit:
    """A limit of its own for requests of `method` whose path matches `path` in full."""

    method: str
    path: re.Pattern[str]
    max_bytes: int


class RequestContextMiddleware:
    def __init__(
        self, app: ASGIApp, max_body_bytes: int, body_limits: Sequence[BodyLimit] = ()
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.body_limits = tuple(body_limits)

    def _limit_for(self, scope: Scope) -> int:
        for limit in self.body_limits:
            if scope["method"] == limit.method and limit.path.fullmatch(scope["path"]):
                return limit.max_bytes
        return self.max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id, traceparent = self._ids(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        bound = bind_request(request_id, trace_id_from(traceparent))
        started = time.perf_counter()
        status = {"code": 500, "sent": False}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"], status["sent"] = message["status"], True
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode()),
                ]
            await send(message)

        limit = self._limit_for(scope)
        try:
            if self._declared_length(scope) > limit:
                raise BodyTooLarge(limit)
            await self.app(scope, self._limited(receive, limit), send_with_id)
        except BodyTooLarge:
            if status["sent"]:
                raise
            await self._too_large(request_id, send_with_id, limit)
        except ClientDisconnect:  # the caller left mid-body (a dropped upload): no one to answer
            status["code"] = 499  # the access log's usual code for it
        except OperationalError:
            # The database went away under the request (a restart, a failover): nothing
            # of ours is broken and the caller may try again, so 503, not 500.
            error_log.warning("database unavailable", extra={"request_id": request_id})
            if status["sent"]:
                raise
            await self._send_json(send_with_id, 503, database_unavailable_body(request_id))
        except Exception:
            # The one place an unexpected error is logged; not raised on, so the server
            # neither logs it again nor drops the connection (unless the answer had begun).
            error_log.exception("unhandled error", extra={"request_id": request_id})
            if not status["sent"]:
                await self._send_json(send_with_id, 500, internal_error_body(request_id))
        finally:
            self._log(scope, request_id, int(status["code"]), started)
            unbind_request(bound)

    @staticmethod
    def _ids(scope: Scope) -> tuple[str, str | None]:
        """The request id (the caller's if sane, else a new one) and the `traceparent`."""
        request_id, traceparent = None, None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                candidate: str = value.decode("latin-1")
                if _SANE_REQUEST_ID.fullmatch(candidate):
                    request_id = candidate
            elif name == b"traceparent":
                traceparent = value.decode("latin-1")
        return request_id or uuid.uuid4().hex, traceparent

    @staticmethod
    def _declared_length(scope: Scope) -> int:
        for name, value in scope["headers"]:
            if name == b"content-length":
                return int(value) if value.isdigit() else 0
        return 0

    @staticmethod
    def _limited(receive: Receive, limit: int) -> Receive:
        seen = 0

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                raise BodyTooLarge(limit)
            return message

        return limited_receive

    @classmethod
    async def _too_large(cls, request_id: str, send: Send, limit: int) -> None:
        message = f"the body is larger than {limit} bytes"
        await cls._send_json(send, 413, error_body(request_id, "payload_too_large", message))

    @staticmethod
    async def _send_json(send: Send, status: int, content: dict[str, Any]) -> None:
        body = json.dumps(content).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    @staticmethod
    def _log(scope: Scope, request_id: str, status: int, started: float) -> None:
        seconds = time.perf_counter() - started
        # The route's template, never the raw path: one series per route, not per id.
        route: str = getattr(scope.get("route"), "path", UNMATCHED)
        observe_request(route, scope["method"], status, seconds)
        access_log.info(
            "request",
            extra={
                "request_id": request_id,
                "trace_id": current_trace_id(),
                "principal_id": scope["state"].get("principal_id", ""),
                "method": scope["method"],
                "route": route,
                "status": status,
                "latency_ms": round(seconds * 1000, 3),
            },
        )
