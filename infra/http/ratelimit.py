"""The gateway's rate limits: one pure-ASGI middleware, before routing and before any
authentication work.

Each request falls in a route class (infra/settings_gateway.py) and takes one token from
each of its buckets in one step: with an API key, the key's bucket (by a hash of the key
as presented) and its user's (when the key is in the authentication cache, a dict
lookup) or else the client address's; with an access token, its user's (the signature
checked, no I/O); with neither, or with credentials that fail those cheap checks, the
client address's. So a flood without good credentials is held at its address before it
reaches the event store or a password hash, and a key's or user's limit holds on every
process that shares the bucket store.

Every refusal is counted here, once, by route class: the middleware's own, and those a
command answers (a login's attempts, a plan's calls) that the error handler flags.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from prometheus_client import Counter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from commands.api_keys import ApiKeyService
from commands.rate_limits import Decision, Limit, RateLimiterUnavailable, TokenBuckets
from commands.secrets import API_KEY_PREFIX
from commands.tokens import TokenCodec
from domain.errors import DomainError
from infra.http.errors import REFUSED_BY_RATE_LIMIT, error_body
from infra.settings_gateway import GatewaySettings, RouteClass

if TYPE_CHECKING:
    from infra.bootstrap import Container

REFUSALS = Counter(
    "aimarket_rate_limit_refusals",
    "Requests refused by a rate limit (429): the gateway's buckets and the commands' own "
    "(login attempts, a plan's calls), by route class",
    ["route_class"],
)
for _name in ("auth", "reads", "writes", "inference"):  # each series exists from the start,
    REFUSALS.labels(route_class=_name)  # so an alert's rate() sees 0, not nothing
_INFERENCE = re.compile(r"/v1/models/[^/]+/(infer|infer/batch|jobs)")
_READS = frozenset({"GET", "HEAD", "OPTIONS"})


# The web pages' forms where credentials change hands (infra/web/auth_pages.py): held to
# the auth class, as /v1/auth/ is, or a password could be guessed at the writes' rate.
AUTH_PAGES = frozenset({"/login", "/signup", "/verify", "/account/password"})


@dataclass(frozen=True)
class RouteClasses:
    auth: RouteClass
    reads: RouteClass
    writes: RouteClass
    inference: RouteClass

    @classmethod
    def of(cls, settings: GatewaySettings) -> RouteClasses:
        return cls(
            settings.rate_limit_auth,
            settings.rate_limit_reads,
            settings.rate_limit_writes,
            settings.rate_limit_inference,
        )

    def classify(self, method: str, path: str) -> tuple[str, RouteClass]:
        if method == "POST" and _INFERENCE.fullmatch(path):
            return "inference", self.inference
        if method in _READS:
            return "reads", self.reads
        if path.startswith("/v1/auth/") or path in AUTH_PAGES:  # credentials change hands
            return "auth", self.auth
        return "writes", self.writes


class CallerKeys:
    """Who a request is, for the buckets, from what it presents (see the module's doc)."""

    def __init__(self, api_keys: ApiKeyService, tokens: TokenCodec) -> None:
        self.api_keys, self.tokens = api_keys, tokens

    def __call__(self, scope: Scope) -> list[str]:
        address = f"ip:{scope['client'][0] if scope.get('client') else ''}"
        api_key, bearer = _credentials(scope)
        if api_key is not None:
            digest = hashlib.sha256(api_key.encode()).hexdigest()[:32]
            return [f"key:{digest}", self._user_of_key(api_key) or address]
        if bearer is not None:
            try:
                return [f"user:{self.tokens.decode_access(bearer).user_id}"]
            except DomainError:
                pass
        return [address]

    def _user_of_key(self, api_key: str) -> str | None:
        try:
            principal = self.api_keys.authenticate_cached(api_key)
        except DomainError:  # malformed: authentication answers it
            return None
        return None if principal is None else f"user:{principal.user_id}"


def _credentials(scope: Scope) -> tuple[str | None, str | None]:
    api_key = bearer = None
    for name, value in scope["headers"]:
        if name == b"x-api-key":
            api_key = value.decode("latin-1")
        elif name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                bearer = token.strip()
    if api_key is None and bearer is not None and bearer.startswith(API_KEY_PREFIX):
        return bearer, None
    return api_key, bearer


class RateLimitMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        buckets: TokenBuckets,
        classes: RouteClasses,
        caller_keys: Callable[[Scope], Sequence[str]],
        exempt_paths: frozenset[str],
    ) -> None:
        self.app, self.buckets, self.classes = app, buckets, classes
        self.caller_keys, self.exempt = caller_keys, exempt_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.exempt:
            await self.app(scope, receive, send)
            return
        name, route = self.classes.classify(scope["method"], scope["path"])
        spec = route.spec()
        limits = [Limit(f"{name}:{who}", spec) for who in self.caller_keys(scope)]
        try:
            # On the event loop: one sub-millisecond round trip (or none), bounded by the
            # store's timeout, costs less than a hop to a thread and back.
            decision = self.buckets.take_all(limits)
        except RateLimiterUnavailable as error:
            if route.fail_open:
                await self.app(scope, receive, _answering(scope, send, name, []))
                return
            await _refuse(scope, send, 503, error.code, error.message, [(b"retry-after", b"1")])
            return
        headers = _headers(decision)
        if not decision.allowed:
            REFUSALS.labels(route_class=name).inc()
            retry = [(b"retry-after", str(decision.retry_after_s).encode())]
            message = f"too many requests; retry after {decision.retry_after_s} s"
            await _refuse(scope, send, 429, "rate_limited", message, headers + retry)
            return
        await self.app(scope, receive, _answering(scope, send, name, headers))


def _headers(decision: Decision) -> list[tuple[bytes, bytes]]:
    return [
        (b"ratelimit-limit", str(decision.limit).encode()),
        (b"ratelimit-remaining", str(decision.remaining).encode()),
        (b"ratelimit-reset", str(decision.reset_s).encode()),
    ]


Headers = list[tuple[bytes, bytes]]


def _answering(scope: Scope, send: Send, route_class: str, headers: Headers) -> Send:
    """`send` adding the buckets' headers to the answer, and counting a refusal that a
    command raised (a login's or a plan's limit: the error handler flags the scope)."""

    async def send_on(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", []), *headers]
            if scope.get("state", {}).get(REFUSED_BY_RATE_LIMIT):
                REFUSALS.labels(route_class=route_class).inc()
        await send(message)

    return send_on


async def _refuse(
    scope: Scope, send: Send, status: int, code: str, message: str, headers: Headers
) -> None:
    request_id = str(scope.get("state", {}).get("request_id", ""))
    body = json.dumps(error_body(request_id, code, message)).encode()
    start = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": start + headers})
    await send({"type": "http.response.body", "body": body})


def rate_limit_options(container: Container) -> dict[str, Any]:
    """RateLimitMiddleware's arguments for `app.add_middleware`, from the container."""
    settings = container.settings
    exempt = frozenset(p.strip() for p in settings.rate_limit_exempt_paths.split(",") if p.strip())
    return {
        "buckets": container.rate_limits,
        "classes": RouteClasses.of(settings),
        "caller_keys": CallerKeys(container.api_keys, container.auth.tokens),
        "exempt_paths": exempt,
    }
