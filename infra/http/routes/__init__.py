"""The API's routes, one module per resource, each holding that resource's reads and writes."""

from __future__ import annotations

from fastapi import APIRouter

from infra.http.routes import (
    access,
    admin,
    analytics,
    audit,
    auth,
    billing,
    billing_usage,
    earnings,
    inference,
    invoices,
    jobs,
    models,
    notifications,
    ops,
    purchases,
    reviews,
    stripe_webhooks,
    subscriptions,
    uploads,
    webhooks,
)

ROUTERS: tuple[APIRouter, ...] = tuple(
    module.router
    # Matched in this order, one route after another: the calls come first, they are
    # the traffic (about 40 fewer route matches per call).
    for module in (
        inference, jobs, auth, admin, models, uploads, access, reviews, webhooks,
        purchases, billing, billing_usage, invoices, earnings, subscriptions,
        stripe_webhooks, analytics, audit, notifications, ops,
    )
)  # fmt: skip
