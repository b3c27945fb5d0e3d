"""Every route that names an object (a model, version, upload, review, access request, API
key, user or aggregate), called with someone else's credentials, on both profiles.

The tables below must classify every route of the app with a path parameter: in CASES
(tried with another consumer's and another publisher's credentials) or in PUBLIC (with
the reason). A route added later in neither fails `test_every_object_route_is_classified`,
so nobody ships an endpoint that was never tried with the wrong user's keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient

from commands.job_ports import Job, caller_of
from domain.invoice import Invoice
from domain.principal import Principal
from domain.purchase import Purchase
from infra.bootstrap import Container
from infra.http.openapi import api_routes
from projections.ports import DocChange
from tests.billing_support import start_subscription
from tests.integration.test_model_registry import create, validated
from tests.pipeline import wait_until
from tests.support import Account, verified_account
from tests.web_support import signed_in_client

# What an intruder gets: on the victim's private model, and on their public one.
# "own" = 200 but showing only the caller's own objects; "ok" = public information.
Expect = tuple[int, str] | str


@dataclass(frozen=True)
class Case:
    private: Expect
    public: Expect
    body: Any = None


NOT_FOUND = (404, "model_not_found")
NOT_OWNER = (403, "not_model_owner")
UPLOAD_NOT_FOUND = (404, "upload_not_found")
REQUEST_NOT_FOUND = (404, "access_request_not_found")
KEY_NOT_FOUND = (404, "not_found")  # another user's key: never its data
JOB_NOT_FOUND = (404, "job_not_found")
ENDPOINT_NOT_FOUND = (404, "webhook_endpoint_not_found")
DELIVERY_NOT_FOUND = (404, "webhook_delivery_not_found")
INVOICE_NOT_FOUND = (404, "invoice_not_found")
SUBSCRIPTION_NOT_FOUND = (404, "subscription_not_found")
PURCHASE_NOT_FOUND = (404, "purchase_not_found")
NOTIFICATION_NOT_FOUND = (404, "notification_not_found")
FORBIDDEN_TO_ALL = ((403, "forbidden"), (403, "forbidden"))
ADMIN_ONLY = Case(*FORBIDDEN_TO_ALL)
REVIEW = {"version": "1.0.0", "rating": 1, "title": "bad"}

CASES: dict[tuple[str, str], Case] = {
    ("GET", "/v1/models/{model_id}"): Case(NOT_FOUND, "ok"),
    ("PATCH", "/v1/models/{model_id}"): Case(NOT_FOUND, NOT_OWNER, {"name": "mine"}),
    ("DELETE", "/v1/models/{model_id}"): Case(NOT_FOUND, NOT_OWNER),
    ("POST", "/v1/models/{model_id}/deprecate"): Case(NOT_FOUND, NOT_OWNER, {"reason": "x"}),
    ("PUT", "/v1/models/{model_id}/pricing"): Case(
        NOT_FOUND, NOT_OWNER, {"currency": "EUR", "price_per_request": 0}
    ),
    ("POST", "/v1/models/{model_id}/versions/{version}/publish"): Case(NOT_FOUND, NOT_OWNER),
    ("PUT", "/v1/models/{model_id}/default-version"): Case(
        NOT_FOUND, NOT_OWNER, {"version": "1.0.0"}
    ),
    ("GET", "/v1/models/{model_id}/versions"): Case(NOT_FOUND, "ok"),
    ("GET", "/v1/models/{model_id}/recommendations"): Case(NOT_FOUND, "ok"),
    ("GET", "/v1/models/{model_id}/reviews"): Case(NOT_FOUND, "ok"),
    ("POST", "/v1/models/{model_id}/infer"): Case(
        NOT_FOUND, (403, "access_required"), {"inputs": {}}
    ),
    ("POST", "/v1/models/{model_id}/infer/batch"): Case(
        NOT_FOUND, (403, "access_required"), {"items": [{}]}
    ),
    ("POST", "/v1/models/{model_id}/reviews"): Case(
        NOT_FOUND, (403, "not_a_user_of_model"), REVIEW
    ),
    ("POST", "/v1/reviews/{review_id}/reply"): Case(NOT_FOUND, NOT_OWNER, {"body": "mine"}),
    ("POST", "/v1/reviews/{review_id}/hide"): Case(
        (403, "forbidden"), (403, "forbidden"), {"reason": "x"}
    ),
    ("POST", "/v1/reviews/{review_id}/unhide"): Case((403, "forbidden"), (403, "forbidden")),
    ("GET", "/v1/models/{model_id}/access-requests"): Case(NOT_FOUND, "own"),
    ("GET", "/v1/access-requests/{request_id}"): Case(REQUEST_NOT_FOUND, REQUEST_NOT_FOUND),
    ("POST", "/v1/access-requests/{request_id}/approve"): Case(NOT_FOUND, NOT_OWNER, {}),
    ("POST", "/v1/access-requests/{request_id}/reject"): Case(
        NOT_FOUND, NOT_OWNER, {"reason": "x"}
    ),
    ("POST", "/v1/access-requests/{request_id}/revoke"): Case(
        NOT_FOUND, NOT_OWNER, {"reason": "x"}
    ),
    ("POST", "/v1/models/{model_id}/uploads"): Case(
        NOT_FOUND, NOT_OWNER, {"version": "3.0.0", "size": 10, "sha256": "0" * 64}
    ),
    ("GET", "/v1/uploads/{upload_id}"): Case(UPLOAD_NOT_FOUND, UPLOAD_NOT_FOUND),
    ("PUT", "/v1/uploads/{upload_id}/parts/{part}"): Case(UPLOAD_NOT_FOUND, UPLOAD_NOT_FOUND),
    ("POST", "/v1/uploads/{upload_id}/complete"): Case(UPLOAD_NOT_FOUND, UPLOAD_NOT_FOUND),
    ("GET", "/v1/models/{model_id}/versions/{version}/download-url"): Case(
        NOT_FOUND, (403, "access_not_granted")
    ),
    # A consumer asking for access to a public gated model is what the route is for.
    ("POST", "/v1/models/{model_id}/access-requests"): Case(
        NOT_FOUND, "allowed", {"answers": ["me too"]}
    ),
    # The owner's API key: no visibility of its own, so "private" and "public" alike.
    ("POST", "/v1/auth/api-keys/{key_id}/rotate"): Case(KEY_NOT_FOUND, KEY_NOT_FOUND),
    ("DELETE", "/v1/auth/api-keys/{key_id}"): Case(KEY_NOT_FOUND, KEY_NOT_FOUND),
    # Admin only: the owner's account and the model's history, refused to everyone else.
    ("PUT", "/v1/admin/users/{user_id}/role"): Case(*FORBIDDEN_TO_ALL, {"role": "admin"}),
    ("POST", "/v1/admin/users/{user_id}/deactivate"): ADMIN_ONLY,
    ("POST", "/v1/admin/users/{user_id}/reactivate"): ADMIN_ONLY,
    ("GET", "/v1/audit/aggregates/{aggregate_id}/events"): ADMIN_ONLY,
    ("GET", "/v1/audit/aggregates/{aggregate_id}/state"): ADMIN_ONLY,
    # Async jobs and webhooks: the consumer's own, never shown to anyone else.
    ("POST", "/v1/models/{model_id}/jobs"): Case(
        NOT_FOUND, (403, "access_required"), {"inputs": {"x": [1.0]}}
    ),
    ("GET", "/v1/jobs/{job_id}"): Case(JOB_NOT_FOUND, JOB_NOT_FOUND),
    ("POST", "/v1/jobs/{job_id}/cancel"): Case(JOB_NOT_FOUND, JOB_NOT_FOUND),
    ("DELETE", "/v1/webhooks/endpoints/{endpoint_id}"): Case(
        ENDPOINT_NOT_FOUND, ENDPOINT_NOT_FOUND
    ),
    ("POST", "/v1/webhooks/deliveries/{delivery_id}/redeliver"): Case(
        DELIVERY_NOT_FOUND, DELIVERY_NOT_FOUND
    ),
    # Billing: the consumer's own, never shown to anyone else.
    ("GET", "/v1/billing/invoices/{invoice_id}"): Case(INVOICE_NOT_FOUND, INVOICE_NOT_FOUND),
    # Subscriptions: the consumer's own, someone else's is missing.
    ("POST", "/v1/subscriptions/{subscription_id}/cancel"): Case(
        SUBSCRIPTION_NOT_FOUND, SUBSCRIPTION_NOT_FOUND, {"at_period_end": False}
    ),
    ("POST", "/v1/subscriptions/{subscription_id}/change-plan"): Case(
        SUBSCRIPTION_NOT_FOUND, SUBSCRIPTION_NOT_FOUND, {"plan": "pro"}
    ),
    # Purchases: anyone may buy a public model that is for sale (this one is free); a
    # purchase is its consumer's only.
    ("POST", "/v1/models/{model_id}/purchases"): Case(NOT_FOUND, (409, "not_for_sale"), {}),
    ("GET", "/v1/purchases/{purchase_id}"): Case(PURCHASE_NOT_FOUND, PURCHASE_NOT_FOUND),
    # In-app notifications: the account's own, someone else's is missing.
    ("POST", "/v1/notifications/{notification_id}/read"): Case(
        NOTIFICATION_NOT_FOUND, NOTIFICATION_NOT_FOUND
    ),
}

# Routes with an object in their path that take no caller's credentials at all, and why.
# The web pages (infra/web) take a session cookie, not these credentials: they are tried
# with another person's signed-in session in tests/browser/test_web_security.py.
PAGES = "a page: tried with someone else's session in tests/browser/test_web_security.py"
PUBLIC: dict[tuple[str, str], str] = {
    ("GET", "/v1/downloads/sha256/{hex_digest}"): "the signed URL is the credential "
    "(tests/integration/test_uploads.py tries it tampered, expired and for another user)",
    ("GET", "/static/{name}"): "the pages' CSS and JavaScript, the same for everyone",
    ("GET", "/models/{model_id}"): PAGES,
    ("GET", "/models/{model_id}/access"): PAGES,
    ("POST", "/models/{model_id}/access"): PAGES,
    ("POST", "/models/{model_id}/playground"): PAGES,
    ("POST", "/account/keys/{key_id}/rotate"): PAGES,
    ("POST", "/account/keys/{key_id}/revoke"): PAGES,
    ("GET", "/models/{model_id}/buy"): "anyone signed in may buy a public model; "
    "a private one's buy page is 404 (test_someone_elses_objects_through_the_dashboards)",
    ("POST", "/models/{model_id}/buy"): "as its GET",
}

# The dashboards' pages (infra/web) that name an object: with another person's session
# (a publisher who is not the owner; for the consumer's subscription, another consumer)
# each is refused: 404, or 403 where the API's own route answers 403 for a public model;
# the admin's are 403 to anyone else.
DASHBOARDS: dict[tuple[str, str], int] = {
    ("GET", "/publisher/models/{model_id}"): 404,
    ("POST", "/publisher/models/{model_id}"): 404,
    ("POST", "/publisher/models/{model_id}/pricing"): 404,
    ("POST", "/publisher/models/{model_id}/uploads"): 403,  # as the API: a public model
    ("POST", "/publisher/models/{model_id}/versions/{version}/publish"): 403,  # as the API
    ("GET", "/publisher/uploads/{upload_id}"): 404,
    ("PUT", "/publisher/uploads/{upload_id}/parts/{part}"): 404,
    ("POST", "/publisher/uploads/{upload_id}/complete"): 404,
    ("POST", "/publisher/access-requests/{request_id}/approve"): 403,  # as the API
    ("POST", "/publisher/access-requests/{request_id}/reject"): 403,  # as the API
    ("POST", "/publisher/reviews/{review_id}/reply"): 403,  # as the API
    ("POST", "/account/subscriptions/{subscription_id}/cancel"): 404,
    ("POST", "/models/{model_id}/reviews"): 403,  # as the API: not a user of the model
    ("POST", "/admin/users/{user_id}/role"): 403,
    ("POST", "/admin/users/{user_id}/deactivate"): 403,
    ("POST", "/admin/users/{user_id}/reactivate"): 403,
}

# Listed before it exists here: the route another change adds (issue 11, the reactivation).
NOT_YET_HERE = {("POST", "/v1/admin/users/{user_id}/reactivate")}


@dataclass
class World:
    owner: Account
    consumer: Account  # the owner's customer: has used the model, reviewed it, asked access
    model_id: str
    upload_id: str
    review_id: str
    request_id: str
    key_id: str
    job_id: str
    endpoint_id: str
    delivery_id: str
    invoice_id: str
    subscription_id: str
    purchase_id: str
    notification_id: str

    def url(self, path: str) -> str:
        values = {
            "{model_id}": self.model_id, "{upload_id}": self.upload_id,
            "{review_id}": self.review_id, "{request_id}": self.request_id,
            "{version}": "1.0.0", "{part}": "1", "{key_id}": self.key_id,
            "{user_id}": self.owner.id, "{aggregate_id}": self.model_id,
            "{job_id}": self.job_id, "{endpoint_id}": self.endpoint_id,
            "{delivery_id}": self.delivery_id, "{invoice_id}": self.invoice_id,
            "{subscription_id}": self.subscription_id, "{purchase_id}": self.purchase_id,
            "{notification_id}": self.notification_id,
        }  # fmt: skip
        for name, value in values.items():
            path = path.replace(name, value)
        return path


@pytest.fixture
def world(client: TestClient, container: Container, outbox: Path) -> World:
    owner = verified_account(client, outbox, role="publisher")
    model_id = create(
        client, owner, slug="guarded", visibility="public", gated=True,
        access_questions=["What for?"],
    )  # fmt: skip
    validated(container, model_id, "1.0.0")
    published = client.post(f"/v1/models/{model_id}/versions/1.0.0/publish", headers=owner.headers)
    assert published.status_code == 200, published.text
    upload = client.post(
        f"/v1/models/{model_id}/uploads",
        json={"version": "2.0.0", "size": 2048, "sha256": "1" * 64},
        headers=owner.headers,
    )
    assert upload.status_code == 201, upload.text
    consumer = verified_account(client, outbox)
    asked = client.post(
        f"/v1/models/{model_id}/access-requests",
        json={"answers": ["research"]},
        headers=consumer.headers,
    )
    assert asked.status_code == 201, asked.text
    today = datetime.now(UTC).date().isoformat()
    container.usage.record_usage(UUID(consumer.id), UUID(model_id), today, 3, 3)
    review = client.post(f"/v1/models/{model_id}/reviews", json=REVIEW, headers=consumer.headers)
    assert review.status_code == 201, review.text
    key = client.post(
        "/v1/auth/api-keys", json={"name": "ci", "scopes": ["models:read"]}, headers=owner.headers
    )
    assert key.status_code == 201, key.text
    job_id, endpoint_id, delivery_id = jobs_and_webhooks(container, consumer, model_id)
    subscription = start_subscription(container, UUID(consumer.id), UUID(model_id))
    return World(
        owner, consumer, model_id, upload.json()["upload_id"], review.json()["id"],
        asked.json()["id"], key.json()["id"], job_id, endpoint_id, delivery_id,
        billing_objects(container, consumer, owner, model_id),
        str(subscription.id),
        purchase_of(container, consumer, model_id),
        notification_of(container, consumer),
    )  # fmt: skip


def billing_objects(container: Container, consumer: Account, owner: Account, model_id: str) -> str:
    """The consumer's invoice, drafted straight into the event store."""
    line = {"model_id": model_id, "publisher_id": owner.id, "description": "guarded: 3",
            "units": 3, "amount": 30}  # fmt: skip
    invoice = Invoice(UUID(consumer.id), "2031-01", "EUR", [line], "2031-02-01T00:00:00+00:00")
    container.app.write(invoice)
    return str(invoice.id)


def purchase_of(container: Container, consumer: Account, model_id: str) -> str:
    """The consumer's purchase, written straight to the store (the model is free: nobody
    can buy it through the API), once its read model shows it."""
    purchase = Purchase(
        consumer_id=UUID(consumer.id), idempotency_key="bola", model_id=UUID(model_id),
        publisher_id=uuid4(), kind="one_off", plan=None,
        amount={"amount": 100, "currency": "EUR"}, pricing={}, at=datetime.now(UTC).isoformat(),
    )  # fmt: skip
    container.app.write(purchase)
    wait_until(lambda: container.read.store.get("purchases", str(purchase.id)) is not None,
               60, "the purchase's read model")  # fmt: skip
    return str(purchase.id)


def notification_of(container: Container, consumer: Account) -> str:
    """The consumer's in-app notification, written straight to its read model."""
    notification_id = str(uuid4())
    doc = {"user_id": consumer.id, "kind": "purchase.completed", "title": "Receipt",
           "data": {}, "created_at": datetime.now(UTC).isoformat(), "read": False}  # fmt: skip
    container.read.store.apply("notifications", [DocChange(notification_id, 1, doc)])
    return notification_id


def jobs_and_webhooks(container: Container, consumer: Account, model_id: str) -> tuple[str, ...]:
    """The consumer's finished job, webhook endpoint and its delivery, written straight to
    the stores (no inference engine is needed to own one)."""
    caller = Principal(UUID(consumer.id), "consumer", True, "jwt")
    job = Job(uuid4(), caller.user_id, caller_of(caller), UUID(model_id), "1.0.0", {}, True,
              "succeeded", datetime.now(UTC).timestamp(), result={"outputs": {}})  # fmt: skip
    container.jobs.store.insert(job)
    endpoint, _ = container.webhooks.add_endpoint(caller, "http://93.184.215.14/hooks", "")
    container.webhooks.job_finished(job)
    [delivery], _ = container.webhooks.deliveries(caller, None, None, 1)
    return str(job.id), str(endpoint.id), str(delivery.id)


def _as_a_page(client: TestClient, method: str, url: str, token: str) -> Any:
    """What a page's form or fetch would send there: the CSRF token, a body of its shape."""
    headers = {"X-CSRF-Token": token}
    if method == "PUT":  # a part of an upload
        return client.put(url, content=b"x" * 1024, headers=headers)
    if url.endswith("/uploads"):  # an upload started by the page's script
        started = {"version": "3.0.0", "size": 2048, "sha256": "1" * 64}
        return client.post(url, json=started, headers=headers)
    form = {"csrf_token": token, "name": "Mine", "role": "admin", "body": "x", "reason": "x",
            "version": "1.0.0", "rating": "5", "title": "x"}  # fmt: skip
    return client.request(method, url, data=form if method == "POST" else None, headers=headers)


def call(client: TestClient, who: Account, method: str, path: str, world: World) -> Any:
    case = CASES[(method, path)]
    if path.endswith("/parts/{part}"):
        return client.request(method, world.url(path), content=b"x" * 1024, headers=who.headers)
    headers = {**who.headers, "Idempotency-Key": "bola"}  # the purchases' (others ignore it)
    return client.request(method, world.url(path), json=case.body, headers=headers)


def check(response: Any, expected: Expect, world: World, method: str, path: str) -> None:
    where = f"{method} {path}: {response.status_code} {response.text[:300]}"
    if isinstance(expected, tuple):
        assert (response.status_code, response.json()["error"]["code"]) == expected, where
    elif expected == "own":
        assert response.status_code == 200, where
        assert world.request_id not in response.text, where
    else:
        assert response.status_code in (200, 201), where


def object_routes(client: TestClient) -> set[tuple[str, str]]:
    """Every route of the app, schema or not, whose path names something."""
    return {
        (method, route.path_format)
        for route in api_routes(client.app.routes, include_hidden=True)  # type: ignore[attr-defined]
        for method in route.methods
        if "{" in route.path_format
    }


def test_every_object_route_is_classified(client: TestClient) -> None:
    present, tried = object_routes(client), set(CASES) | set(DASHBOARDS)
    assert present - tried - set(PUBLIC) == set(), "neither tried nor in PUBLIC"
    assert set(CASES) & set(PUBLIC) == set() and set(DASHBOARDS) & set(PUBLIC) == set()
    assert (tried | set(PUBLIC)) - present <= NOT_YET_HERE, "listed but gone"


def test_someone_elses_objects_through_the_dashboards(
    client: TestClient, outbox: Path, world: World
) -> None:
    intruder = verified_account(client, outbox, role="publisher")
    token, wrong = signed_in_client(client, intruder.email), []
    for (method, path), expected in DASHBOARDS.items():
        if "subscription" in path:  # a consumer's object: tried by another consumer
            client.cookies.clear()
            token = signed_in_client(client, verified_account(client, outbox).email, "/")
        sent = _as_a_page(client, method, world.url(path), token)
        if sent.status_code != expected:
            wrong.append(f"{method} {path}: {sent.status_code}")
    assert wrong == []
    private = create(client, world.owner, slug="hidden", visibility="private")
    for method in ("GET", "POST"):
        tried = client.request(method, f"/models/{private}/buy", data={"csrf_token": token})
        assert tried.status_code == 404, tried.text[:300]


@pytest.mark.parametrize("role", ["publisher", "consumer"])
def test_someone_elses_objects_are_missing_or_forbidden(
    client: TestClient, container: Container, outbox: Path, world: World, role: str
) -> None:
    intruder = verified_account(client, outbox, role=role)
    present = object_routes(client)
    cases = {route: case for route, case in CASES.items() if route in present}
    writes_before = container.app.recorder.max_notification_id() or 0
    for (method, path), case in cases.items():
        if case.public != "allowed":
            check(call(client, intruder, method, path, world), case.public, world, method, path)
    assert written_since(container, writes_before) == set(), "an intruder wrote"

    hidden = client.patch(
        f"/v1/models/{world.model_id}", json={"visibility": "private"}, headers=world.owner.headers
    )
    assert hidden.status_code == 200
    writes_before = container.app.recorder.max_notification_id() or 0
    for (method, path), case in cases.items():
        check(call(client, intruder, method, path, world), case.private, world, method, path)
    assert written_since(container, writes_before) == set(), "an intruder wrote"


def written_since(container: Container, position: int) -> set[str]:
    """Event types stored after `position`, but for the stats roll-up's own (the cluster's
    stats worker writes those asynchronously after the fixture's usage and review)."""
    app = container.app
    notifications = app.recorder.select_notifications(start=position + 1, limit=1000)
    types = {type(app.mapper.to_domain_event(n)).__qualname__ for n in notifications}
    return types - {"Model.StatsUpdated"}
