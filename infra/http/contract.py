"""The names clients are generated from: each operation's id and each resource's tag.

An operation id is `<tag>.<verb>`: the route's one tag, then its function's name in
camelCase (`auth.createApiKey`), or a better name from `RENAMED` where the function's own
reads badly. Generators make them method names (openapi-python-client: `auth_create_api_key`),
so they are part of the contract: tests/integration/operation_ids.txt pins every one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

# One tag per resource, in the order the docs show them.
TAGS: dict[str, str] = {
    "auth": "Accounts, sessions and API keys: register, verify, log in, the caller's keys",
    "admin": "Accounts as an admin sees them: list, search, roles, deactivation",
    "models": "The registry and catalogue: a publisher's models, browse and search",
    "artifacts": "Model files: chunked, resumable uploads and signed downloads",
    "access": "Gated models: access requests, approvals and their history",
    "reviews": "Ratings and reviews of models, replies and moderation",
    "inference": "Calling a model: one call or a batch, with an API key",
    "jobs": "Asynchronous inference jobs: submit, follow, cancel",
    "purchases": "Buying a model or a plan; the payment runs in the background",
    "subscriptions": "A consumer's plan subscriptions: list, cancel, change plan",
    "billing": "Cards, usage and budgets, invoices, a publisher's earnings and payouts",
    "webhooks": "Webhook endpoints of an account, their secret and deliveries",
    "notifications": "In-app notifications and their read marks",
    "analytics": "Figures for consumers, publishers and the platform (JSON or CSV)",
    "audit": "Any aggregate's events and past states, from the event store (admin)",
    "ops": "Liveness, readiness and Prometheus metrics",
}

# Derived id (tag and function name) -> the id clients see, where the derived one reads badly.
RENAMED: dict[str, str] = {
    "inference.infer": "models.infer",  # a call on a model, documented with the calls
    "inference.inferBatch": "models.inferBatch",
    "jobs.getJob": "jobs.get",
    "jobs.cancelJob": "jobs.cancel",
    "jobs.listJobs": "jobs.list",
    "admin.deactivate": "admin.deactivateUser",
    "admin.reactivate": "admin.reactivateUser",
    "models.createModel": "models.create",
    "models.browseModels": "models.list",
    "models.getModel": "models.get",
    "models.updateModel": "models.update",
    "models.deleteModel": "models.delete",
    "models.deprecateModel": "models.deprecate",
    "models.recommendations": "models.listRecommendations",
    "artifacts.uploadStatus": "artifacts.getUpload",
    "artifacts.putPart": "artifacts.uploadPart",
    "artifacts.downloadUrl": "artifacts.getDownloadUrl",
    "access.requestAccess": "access.request",
    "access.modelRequests": "access.listForModel",
    "access.myRequests": "access.listMine",
    "access.oneRequest": "access.get",
    "reviews.writeReview": "reviews.write",
    "reviews.modelReviews": "reviews.listForModel",
    "webhooks.endpoints": "webhooks.listEndpoints",
    "webhooks.deliveries": "webhooks.listDeliveries",
    "purchases.purchase": "purchases.create",
    "purchases.myPurchases": "purchases.list",
    "purchases.onePurchase": "purchases.get",
    "subscriptions.mySubscriptions": "subscriptions.list",
    "subscriptions.cancelSubscription": "subscriptions.cancel",
    "billing.paymentMethods": "billing.listPaymentMethods",
    "billing.usage": "billing.getUsage",
    "billing.budget": "billing.getBudget",
    "billing.earnings": "billing.getEarnings",
    "billing.payouts": "billing.listPayouts",
    "billing.stripeWebhook": "billing.receiveStripeEvent",
    "analytics.usage": "analytics.getUsage",
    "analytics.publisher": "analytics.getPublisher",
    "analytics.platform": "analytics.getPlatform",
    "audit.aggregateEvents": "audit.listEvents",
    "audit.aggregateState": "audit.getState",
    "notifications.myNotifications": "notifications.list",
    "notifications.readAll": "notifications.markAllRead",
    "notifications.readOne": "notifications.markRead",
}

# FastAPI titles an unnamed response schema after its default operation id ("Response
# Health V1 Health Get"): a generator would put that path into a class name.
DEFAULT_RESPONSE_TITLE = "Response "


def operation_id(route: Any) -> str:
    """`<tag>.<verb>` for an API route with exactly one tag."""
    if len(route.tags) != 1:
        raise ValueError(f"{route.path_format} needs exactly one tag, has {route.tags}")
    derived = f"{route.tags[0]}.{camel_case(route.name)}"
    return RENAMED.get(derived, derived)


def camel_case(name: str) -> str:
    first, *rest = name.split("_")
    return first + "".join(word.capitalize() for word in rest)


def name_operations(document: dict[str, Any], routes: Sequence[Any]) -> None:
    """Give each operation of `routes` its id, drop FastAPI's path-made response titles,
    and list the tags; two operations with one id is an error, never a silent rename."""
    owners: dict[str, str] = {}
    for route in routes:
        for method in sorted(route.methods or ()):
            name, where = operation_id(route), f"{method} {route.path_format}"
            if name in owners:
                raise ValueError(f"operation id {name!r} of {where} is {owners[name]}'s too")
            owners[name] = where
            operation = document["paths"][route.path_format][method.lower()]
            operation["operationId"] = name
            _untitle_responses(operation)
    unknown = {tag for route in routes for tag in route.tags} - TAGS.keys()
    if unknown:
        raise ValueError(f"tags without a description in TAGS: {sorted(unknown)}")
    document["tags"] = [{"name": tag, "description": text} for tag, text in TAGS.items()]


def _untitle_responses(operation: dict[str, Any]) -> None:
    for response in operation.get("responses", {}).values():
        for media in response.get("content", {}).values():
            schema = media.get("schema", {})
            if str(schema.get("title", "")).startswith(DEFAULT_RESPONSE_TITLE):
                del schema["title"]
