"""Lean routes: a documented FastAPI route whose requests a plain ASGI handler serves.

The hot routes (a model call) keep their FastAPI declaration, so `/openapi.json` documents
them as before, but FastAPI's generic request handling (reading the body before anything
else, solving the dependency graph, validating the answer) costs more than the call's own
work. A lean handler does the same steps by hand, in a better order: the caller is
authenticated by the same dependencies before the body is read, and bad input raises the
same `RequestValidationError`, so the error handlers answer it as they answer FastAPI's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel, TypeAdapter, ValidationError
from starlette.requests import Request
from starlette.types import ASGIApp

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])


def served_by(handler: ASGIApp) -> Callable[[F], F]:
    """Marks a route's endpoint as documentation only: `handler` serves its requests."""

    def mark(endpoint: F) -> F:
        endpoint.lean_handler = handler  # type: ignore[attr-defined]
        return endpoint

    return mark


class LeanRoute(APIRoute):
    """An APIRoute that hands its requests to the endpoint's lean handler, if it has one;
    matching (and so the route template the metrics and the access log use) is unchanged."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        handler = getattr(endpoint, "lean_handler", None)
        if handler is not None:
            self.app = handler


def path_param(request: Request, name: str, adapter: TypeAdapter[T]) -> T:
    return _validated(adapter, request.path_params[name], ("path", name))


def query_param(request: Request, name: str, adapter: TypeAdapter[T]) -> T | None:
    """An optional query parameter; None when absent."""
    raw = request.query_params.get(name)
    return None if raw is None else _validated(adapter, raw, ("query", name))


async def json_body(request: Request, model: type[M]) -> M:
    """The body as `model`, with FastAPI's rules: JSON only when the content type says so
    (anything else is validated as bytes, and refused), an empty body is missing."""
    body = await request.body()
    if not body:
        raise RequestValidationError([_error("missing", ("body",), "Field required")])
    if not _is_json(request.headers.get("content-type")):
        return _validated(TypeAdapter(model), body, ("body",))
    try:
        return model.model_validate_json(body)
    except ValidationError as error:
        raise RequestValidationError(_located(error, ("body",))) from None


def _is_json(content_type: str | None) -> bool:
    """`application/json` or `application/*+json`, parameters ignored, as FastAPI reads it."""
    media = (content_type or "").partition(";")[0].strip().lower()
    maintype, _, subtype = media.partition("/")
    return maintype == "application" and (subtype == "json" or subtype.endswith("+json"))


def _validated(adapter: TypeAdapter[T], value: Any, loc: tuple[str, ...]) -> T:
    try:
        return adapter.validate_python(value)
    except ValidationError as error:
        raise RequestValidationError(_located(error, loc)) from None


def _located(error: ValidationError, prefix: tuple[str, ...]) -> list[dict[str, Any]]:
    return [{**e, "loc": (*prefix, *e["loc"])} for e in error.errors(include_url=False)]


def _error(kind: str, loc: tuple[str, ...], message: str) -> dict[str, Any]:
    return {"type": kind, "loc": loc, "msg": message, "input": None}
