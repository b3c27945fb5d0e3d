"""CORS for browser clients: Starlette's CORSMiddleware (pure ASGI), for the origins the
settings allow (AIMARKET_CORS_ALLOWED_ORIGINS); none allowed by default, and then no
middleware at all, so no response carries a CORS header."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

from infra.settings import Settings

ALLOWED_HEADERS = ["Authorization", "Content-Type", "X-API-Key", "Idempotency-Key", "X-Request-ID"]
# Headers a browser script may read from a response: request id, limits, when to retry.
EXPOSED_HEADERS = [
    "X-Request-ID",
    "Retry-After",
    "RateLimit-Limit",
    "RateLimit-Remaining",
    "RateLimit-Reset",
    "Location",
]


def install_cors(app: FastAPI, settings: Settings) -> None:
    origins = settings.cors_origins()
    if not origins:
        return
    app.add_middleware(
        CORSMiddleware,
        allow_origins=origins,
        allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        allow_headers=ALLOWED_HEADERS,
        expose_headers=EXPOSED_HEADERS,
        allow_credentials=settings.cors_allow_credentials,
        max_age=settings.cors_max_age_s,
    )
