"""The one place that maps errors to HTTP, with one error body everywhere."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from domain import errors
from infra.search import IndexNotFound

log = logging.getLogger("aimarket.errors")

# Set in the request's scope["state"] when a command's RateLimited is answered: the rate-limit
# middleware, which knows the route class, counts the refusal as the answer goes out.
REFUSED_BY_RATE_LIMIT = "refused_by_rate_limit"

STATUS_BY_ERROR: list[tuple[type[errors.DomainError], int]] = [
    (errors.InvalidInput, 422),
    (errors.Unauthorized, 401),
    (errors.Forbidden, 403),
    (errors.NotFound, 404),
    (errors.Conflict, 409),
    (errors.PayloadTooLarge, 413),
    (errors.RateLimited, 429),
    (errors.PaymentRequired, 402),
    (errors.Unavailable, 503),
    (errors.UpstreamFailed, 502),
    (errors.UpstreamTimedOut, 504),
]

CODE_BY_STATUS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    402: "payment_required",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    429: "rate_limited",
}


def error_body(request_id: str, code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "request_id": request_id, **extra}}


def _request_id(request: Request) -> str:
    return str(getattr(request.state, "request_id", ""))


def status_of(error: errors.DomainError) -> int:
    return next((status for cls, status in STATUS_BY_ERROR if isinstance(error, cls)), 400)


async def _domain_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, errors.DomainError)
    headers = {}
    retry_after = getattr(error, "retry_after_s", None)
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    if isinstance(error, errors.Unauthorized):
        headers["WWW-Authenticate"] = "Bearer"
    elif isinstance(error, errors.RateLimited):
        request.scope.setdefault("state", {})[REFUSED_BY_RATE_LIMIT] = True
    details = getattr(error, "details", None)  # a 503 not_ready: what each dependency said
    extra = {} if details is None else {"details": details}
    body = error_body(_request_id(request), error.code, error.message, **extra)
    return JSONResponse(body, status_code=status_of(error), headers=headers)


async def _validation_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    # Only where and what: never echo the input, which may hold a password.
    details = [
        {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
        for e in error.errors()
    ]
    if any(d["type"] == "json_invalid" for d in details):
        body = error_body(_request_id(request), "malformed_json", "the body is not valid JSON")
        return JSONResponse(body, status_code=400)
    body = error_body(
        _request_id(request), "invalid_input", "the request is invalid", details=details
    )
    return JSONResponse(body, status_code=422)


async def _http_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    if isinstance(error.__cause__, UnicodeDecodeError):
        # FastAPI's JSON parsing raises a bare 400 for bytes that are not UTF-8 at all.
        body = error_body(_request_id(request), "malformed_json", "the body is not valid JSON")
        return JSONResponse(body, status_code=400)
    code = CODE_BY_STATUS.get(error.status_code, "http_error")
    body = error_body(_request_id(request), code, str(error.detail))
    return JSONResponse(body, status_code=error.status_code, headers=error.headers)


async def _index_missing(request: Request, error: Exception) -> JSONResponse:
    # Only before the first projection batch, or after someone dropped an index by hand.
    body = error_body(
        _request_id(request),
        "search_index_missing",
        "the search index is not built yet; start the projection worker "
        "(`aimarket worker projections`) or run `aimarket projections rebuild all`",
    )
    return JSONResponse(body, status_code=503, headers={"Retry-After": "5"})


def internal_error_body(request_id: str) -> dict[str, Any]:
    """The 500 body; RequestContextMiddleware answers it and logs the error, once.

    Not an exception handler for `Exception`: Starlette calls that one from its outermost
    middleware and then raises the error again, so uvicorn logged it a second time and
    closed the connection."""
    return error_body(
        request_id,
        "internal_error",
        "something went wrong on our side; quote the request_id if you report it",
    )


def database_unavailable_body(request_id: str) -> dict[str, Any]:
    """The 503 for a request the database dropped (it restarted or failed over): the
    middleware answers it; the caller tries again, with the same Idempotency-Key."""
    return error_body(
        request_id, "upstream_unavailable", "the database is not reachable right now; try again"
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(errors.DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(IndexNotFound, _index_missing)
