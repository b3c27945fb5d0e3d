"""Every response a route can give, in the OpenAPI document, each error with one schema.

FastAPI documents a route's success and its own shape of 422. Our routes also answer
400/401/403/404/409/413/429/503, always with `{"error": {...}}`. The statuses are derived
here, in one place, from what each route declares (authentication, path parameters, a
body, `wait_for`, its method), plus a short table for what no declaration shows; the codes
from the typed errors themselves. A client generated from the schema can then handle them.
"""

from __future__ import annotations

import http
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from fastapi import FastAPI, routing
from pydantic import BaseModel, Field
from starlette.routing import BaseRoute

from domain.errors import DomainError
from infra.http import deps
from infra.http.contract import name_operations
from infra.http.errors import STATUS_BY_ERROR
from infra.settings_gateway import DEFAULT_EXEMPT_PATHS

REF = "#/components/schemas/"


class ValidationIssue(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ErrorInfo(BaseModel):
    code: str = Field(description="Stable and machine-readable: the response lists its codes")
    message: str = Field(description="For people; may change")
    request_id: str = Field(description="Also in the `X-Request-ID` header: quote it")
    details: list[ValidationIssue] | None = Field(
        default=None, description="`invalid_input` only: where and what, never the input"
    )


class Error(BaseModel):
    """The one error body of every route."""

    error: ErrorInfo


# Codes raised as `SomeError(..., code="...")` rather than by a class of their own, and the
# ones the web layer answers itself (tests/integration/test_openapi_document.py keeps this whole).
EXTRA_CODES: dict[int, tuple[str, ...]] = {
    400: ("malformed_json",),
    401: ("missing_credentials", "api_key_not_accepted"),
    403: (
        "email_not_verified", "insufficient_scope", "scope_not_allowed", "role_not_allowed",
        "publisher_role_required", "not_a_session",
    ),
    409: (
        "email_taken", "already_verified", "already_deactivated", "not_deactivated",
        "key_revoked", "job_finished", "webhook_endpoints_full",
    ),
    413: ("payload_too_large",),
    422: (
        "invalid_input", "invalid_cursor", "invalid_version", "invalid_slug", "invalid_rating",
        "invalid_expiry", "unknown_scope", "answers_mismatch", "invalid_period",
        "payment_request_invalid",
    ),
    404: ("job_expired", "api_key_not_found"),
    503: ("validation_unavailable", "search_index_missing", "job_queue_unavailable"),
}  # fmt: skip

# What a route's declarations cannot show: credentials in a body, limits, other services.
EXTRA_STATUSES: dict[tuple[str, str], frozenset[int]] = {
    # A credential in the body rather than in a header.
    ("POST", "/v1/auth/login"): frozenset({401, 429}),
    ("POST", "/v1/auth/refresh"): frozenset({401}),
    ("POST", "/v1/auth/verify-email"): frozenset({401}),
    ("POST", "/v1/models/{model_id}/access-requests"): frozenset({429}),  # the cool-down
    ("POST", "/v1/uploads/{upload_id}/complete"): frozenset({503}),  # no validator here
    ("GET", "/v1/downloads/sha256/{hex_digest}"): frozenset({403}),  # the signature
    ("GET", "/v1/ready"): frozenset({503}),
    ("PUT", "/v1/billing/budget"): frozenset({404}),  # api_key_id not one of the caller's
    # The signature is the credential (400 invalid_signature); the provider may be down.
    ("POST", "/v1/webhooks/stripe"): frozenset({400}),
    ("POST", "/v1/subscriptions/{subscription_id}/cancel"): frozenset({409, 503}),
    ("POST", "/v1/subscriptions/{subscription_id}/change-plan"): frozenset({409, 503}),
    # A job is admitted as a call would be (entitlement, limits), then queued on Kafka.
    ("POST", "/v1/models/{model_id}/jobs"): frozenset({402, 413, 429, 503}),
    ("GET", "/v1/models"): frozenset({503}),  # search index not built yet
    ("GET", "/v1/models/{model_id}/recommendations"): frozenset({503}),
    ("GET", "/v1/admin/users/search"): frozenset({503}),
    # A call: entitlement (402, caps 429), input limits (413), the engine (502, 503, 504).
    ("POST", "/v1/models/{model_id}/infer"): frozenset({402, 413, 429, 502, 503, 504}),
    ("POST", "/v1/models/{model_id}/infer/batch"): frozenset({402, 413, 429, 502, 503, 504}),
    # Billing: no card or a declined one (402), the payment provider away (503).
    ("POST", "/v1/models/{model_id}/purchases"): frozenset({402}),
    ("POST", "/v1/billing/payment-methods"): frozenset({402, 503}),
}

# Dependencies that resolve the caller: bad credentials are 401, a deactivated account 403.
AUTHENTICATORS: tuple[object, ...] = (
    deps.current_user,
    deps.current_principal,
    deps.current_principal_from_api_key,
    deps.optional_principal,
)

# Routes that create an object, the path that names it, and the field of their answer that
# holds its id: OpenAPI links from each to every operation on the object, so that clients
# (and schemathesis's chains of calls) know where the id goes.
CREATES: dict[tuple[str, str], tuple[str, str]] = {
    ("POST", "/v1/auth/register"): ("/v1/admin/users/{user_id}", "id"),
    ("POST", "/v1/auth/api-keys"): ("/v1/auth/api-keys/{key_id}", "id"),
    ("POST", "/v1/models"): ("/v1/models/{model_id}", "id"),
    ("POST", "/v1/models/{model_id}/uploads"): ("/v1/uploads/{upload_id}", "upload_id"),
    ("POST", "/v1/models/{model_id}/access-requests"): ("/v1/access-requests/{request_id}", "id"),
    ("POST", "/v1/models/{model_id}/reviews"): ("/v1/reviews/{review_id}", "id"),
    ("POST", "/v1/models/{model_id}/purchases"): ("/v1/purchases/{purchase_id}", "id"),
}

RATE_LIMIT_EXEMPT = frozenset(DEFAULT_EXEMPT_PATHS.split(","))
_INTEGER = {"schema": {"type": "integer"}}
HEADERS: dict[int, dict[str, Any]] = {
    401: {"WWW-Authenticate": {"schema": {"type": "string"}}},
    429: {
        "Retry-After": {"description": "Seconds", "schema": {"type": "string"}},
        "RateLimit-Limit": {"description": "The bucket's size", **_INTEGER},
        "RateLimit-Remaining": {"description": "Calls left now", **_INTEGER},
        "RateLimit-Reset": {"description": "Seconds until the bucket is full", **_INTEGER},
    },
    503: {"Retry-After": {"description": "Seconds, when known", "schema": {"type": "string"}}},
}


def install_error_responses(app: FastAPI) -> None:
    """After the routers are included: `/openapi.json` documents every error response, and
    names each operation and tag for clients (infra/http/contract.py)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = generate()
            name_operations(document, list(api_routes(app.routes)))
            document_errors(document, app.routes)
        return app.openapi_schema or {}

    app.openapi = openapi  # type: ignore[method-assign]


def document_errors(document: dict[str, Any], routes: Sequence[BaseRoute]) -> None:
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schema = Error.model_json_schema(ref_template=REF + "{model}")
    schemas.update(schema.pop("$defs", {}))
    schemas["Error"] = schema
    codes = codes_by_status()
    for route in api_routes(routes):
        for method in sorted(route.methods or ()):
            operation = document["paths"][route.path_format][method.lower()]
            for status in sorted(statuses(route, method)):
                operation["responses"][str(status)] = _response(status, codes.get(status, ()))
    _link_creations(document)
    # FastAPI's own 422 schema, replaced everywhere above, describes a body we never send.
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)


def _link_creations(document: dict[str, Any]) -> None:
    paths = document["paths"]
    for (method, path), (object_path, field) in CREATES.items():
        if path not in paths:
            continue
        parameter = object_path.rsplit("{", 1)[1].rstrip("}")
        links = {
            operation["operationId"]: {
                "operationId": operation["operationId"],
                "parameters": {parameter: f"$response.body#/{field}"},
            }
            for target, operations in paths.items()
            if target == object_path or target.startswith(object_path + "/")
            for operation in operations.values()
        }
        for status, response in paths[path][method.lower()]["responses"].items():
            if status.startswith("2") and links:
                response["links"] = links


def api_routes(routes: Sequence[BaseRoute], include_hidden: bool = False) -> Iterator[Any]:
    """The API routes, included routers walked (FastAPI 0.16x keeps them as such); those
    left out of the schema only with `include_hidden`."""
    walk = getattr(routing, "iter_route_contexts", None)
    found: Iterable[Any] = walk(routes) if walk else routes
    for route in found:
        original = getattr(route, "original_route", route)
        if isinstance(original, routing.APIRoute) and (include_hidden or route.include_in_schema):
            yield route


def statuses(route: Any, method: str) -> set[int]:
    """The error statuses `route` can answer, from what it declares."""
    dependants = [route.dependant, *_sub_dependants(route.dependant)]
    calls = [d.call for d in dependants]
    params = [p for d in dependants for p in _params(d)]
    found: set[int] = set()
    if any(any(call is a for a in AUTHENTICATORS) for call in calls):
        found |= {401, 403}
    if any(getattr(call, "__qualname__", "").startswith("require_") for call in calls):
        found.add(403)  # a role, scope or verified email is required
    if route.dependant.path_params:
        found.add(404)  # a path names an object, which may not exist (or not for you)
    if route.body_field is not None:
        found |= {400, 413, 422}
    elif "requestBody" in (route.openapi_extra or {}):
        found.add(413)
    if params:
        found.add(422)
    if any(p.alias == "wait_for" for p in params):
        found.update({429, 503})  # too many waits at once; not caught up in time
    if method != "GET":
        found.add(409)  # a command that keeps losing a version race: concurrent_update
    if route.path_format not in RATE_LIMIT_EXEMPT:  # the gateway's buckets (ratelimit.py)
        found.add(429)
        if method == "POST" and route.path_format.startswith("/v1/auth/"):
            found.add(503)  # the auth class fails closed without its bucket store
    return found | EXTRA_STATUSES.get((method, route.path_format), frozenset())


def codes_by_status() -> dict[int, list[str]]:
    found: dict[int, set[str]] = {status: set(codes) for status, codes in EXTRA_CODES.items()}
    for cls in _subclasses(DomainError):
        status = next((s for base, s in STATUS_BY_ERROR if issubclass(cls, base)), 400)
        found.setdefault(status, set()).add(cls.code)
    return {status: sorted(codes) for status, codes in found.items()}


def _response(status: int, codes: Iterable[str]) -> dict[str, Any]:
    listed = ", ".join(f"`{code}`" for code in codes)
    response: dict[str, Any] = {
        "description": f"{http.HTTPStatus(status).phrase}. Codes: {listed}",
        "content": {"application/json": {"schema": {"$ref": REF + "Error"}}},
    }
    if status in HEADERS:
        response["headers"] = HEADERS[status]
    return response


def _sub_dependants(dependant: Any) -> Iterator[Any]:
    for sub in dependant.dependencies:
        yield sub
        yield from _sub_dependants(sub)


def _params(dependant: Any) -> list[Any]:
    return [*dependant.path_params, *dependant.query_params, *dependant.header_params]


def _subclasses(cls: type[DomainError]) -> Iterator[type[DomainError]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)
