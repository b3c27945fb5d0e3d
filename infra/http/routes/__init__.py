"""The API's routes, one module per resource, each holding that resource's reads and writes."""

from __future__ import annotations

from fastapi import APIRouter

from infra.http.routes import (
    access,
    admin,
    audit,
    auth,
    inference,
    jobs,
    models,
    ops,
    reviews,
    uploads,
    webhooks,
)

ROUTERS: tuple[APIRouter, ...] = tuple(
    module.router
    for module in (
        auth, admin, models, uploads, access, reviews, inference, jobs, webhooks, audit, ops,
    )
)  # fmt: skip
