"""The marketplace as one system. Cluster: the API under uvicorn with two workers, the
relay and every worker as separate processes on the real services; embedded: `aimarket
run`, one process. The journey speaks only HTTP (the SDK and plain requests), SMTP and
Kafka, as people and a partner would; the operator's steps are `aimarket` commands,
except the month's close, which is the same command handler on a clock a month on (a
process cannot be moved in time; embedded, the provider lives inside the API process, so
its month is closed by the process's own worker and not here)."""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from aimarket_client import Client
from aimarket_client.types import Money
from jsonschema import Draft202012Validator, FormatChecker
from standardwebhooks import Webhook

from commands.metering_ports import month_of
from infra.billing_wiring import standalone_invoices
from infra.clock import SystemClock
from infra.settings import Settings
from infra.stores import open_marketplace
from tests.inference_support import affine_model, run_directly
from tests.integration.test_webhooks import Receiver, receiving
from tests.pipeline import wait_until
from tests.sdk_support import PRICING, WEIGHTS, X, model_file, sdk_for
from tests.support import PASSWORD, Account, ConsistentHttp, unique_email
from tests.system_support import Inbox, operator, running_system, smtp_server
from workers.notifications import read_after
from workers.partner_feed import to_public
from workers.public_schemas import DOCS_DIR

pytestmark = pytest.mark.services("postgres", "kafka", "ferretdb", "opensearch", "redis", "triton")
PARTNER_KEY = "k" * 40


@pytest.fixture
def deployment(profile: str, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    """A deployment of this test's own: database, topics, groups, read stores."""
    shared = {"data_dir": tmp_path / "data", "webhook_allowed_hosts": "127.0.0.1"}
    if profile == "embedded":
        return Settings(profile="embedded", argon2_time_cost=1, argon2_memory_kib=8, **shared)
    cluster: Settings = request.getfixturevalue("cluster_inference_settings")
    tag = f"s{uuid.uuid4().hex[:8]}"
    return cluster.model_copy(
        update={
            "database_url": request.getfixturevalue("fresh_database_url"),
            "mongo_database": tag, "search_prefix": tag, "event_topic_prefix": f"{tag}.events.",
            "worker_group": f"{tag}-group", "job_topic": f"{tag}.jobs", "usage_sink": "kafka",
            "usage_topic": f"{tag}.usage", "rate_limit_prefix": f"{tag}:rl:",
            "partner_feed_key": PARTNER_KEY, **shared,
        }
    )  # fmt: skip


def test_the_marketplace_from_sign_up_to_audit(deployment: Settings, tmp_path: Path) -> None:
    with smtp_server() as (inbox, smtp_port), receiving(Receiver()) as hooks:
        settings = deployment.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": smtp_port})
        with (
            running_system(settings, tmp_path / "logs") as base_url,
            ConsistentHttp(base_url=base_url, timeout=60) as http,
        ):
            journey(settings, http, inbox, hooks, tmp_path)
        if settings.profile == "cluster":
            partner_received_every_public_event(settings)


def journey(settings: Settings, http: httpx.Client, inbox: Inbox, hooks: Receiver,
            tmp_path: Path) -> None:  # fmt: skip
    publisher, consumer = signed_up(http, inbox, "publisher"), signed_up(http, inbox, "consumer")
    admin = signed_up(http, inbox, "consumer")
    operator(settings, "users", "set-role", admin.email, "admin")
    admin = logged_in(http, admin.email)
    base_url = str(http.base_url).rstrip("/")
    with sdk_for(base_url, publisher) as sdk:
        model_id = published_and_deployed(sdk, http, publisher, tmp_path)

    def searchable() -> bool:
        listed = http.get("/v1/models", params={"q": "affine"}).json()["items"]
        return model_id in {m["id"] for m in listed}

    wait_until(searchable, 60, "the model in the search index")
    with sdk_for(base_url, consumer) as buyer:
        key = buyer.keys.create("calls", ["inference", "billing:read"]).key
        with Client(base_url, api_key=key) as caller:
            assert caller.models.infer(model_id, {"x": X}).cost.amount == 0  # the free call
            buyer.billing.add_card("4242424242424242")
            bought = buyer.purchases.wait(buyer.purchases.create(model_id).id, timeout_s=120)
            assert (bought.state, bought.amount) == ("completed", Money(4900, "EUR"))
            calls_of_every_kind(http, caller, consumer, model_id, hooks)
            wait_until(lambda: billed(caller) == 10, 90, "1 + 3 + 1 paid calls priced at 2")
    if settings.profile == "cluster":  # embedded, the month's close is the API process's
        invoiced_and_earned(settings, http, consumer, publisher)
    reviewed(http, consumer, model_id)
    audited(http, admin, model_id, bought.id, consumer)


def signed_up(http: httpx.Client, inbox: Inbox, role: str) -> Account:
    address = unique_email(role)
    made = http.post(
        "/v1/auth/register", json={"email": address, "password": PASSWORD, "role": role}
    )
    assert made.status_code == 201, made.text
    verified = http.post("/v1/auth/verify-email", json={"token": inbox.token_for(address)})
    assert verified.status_code == 200, verified.text
    return logged_in(http, address)


def logged_in(http: httpx.Client, address: str) -> Account:
    body = http.post("/v1/auth/login", json={"email": address, "password": PASSWORD}).json()
    me = http.get("/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    return Account(me.json()["id"], address, body["access_token"], body["refresh_token"])


def published_and_deployed(sdk: Client, http: httpx.Client, publisher: Account,
                           tmp_path: Path) -> str:  # fmt: skip
    slug = f"affine-{uuid.uuid4().hex[:8]}"
    model_id = sdk.models.create(slug, "System affine", visibility="public", pricing=PRICING)
    sdk.models.push(model_file(tmp_path), model=slug, version="1.0.0", publish=True)

    def deployed() -> bool:
        body = http.get(f"/v1/models/{model_id}", headers=publisher.headers).json()
        return any((v["deployment"] or {}).get("status") == "deployed" for v in body["versions"])

    wait_until(deployed, 120, "the version deployed on Triton")
    return model_id


def calls_of_every_kind(http: httpx.Client, caller: Client, consumer: Account,
                        model_id: str, hooks: Receiver) -> None:  # fmt: skip
    """One call, a batch of three and a job whose end comes as a signed webhook."""
    paid = caller.models.infer(model_id, {"x": X})
    np.testing.assert_allclose(paid.outputs["y"], run_directly(affine_model(WEIGHTS), X), atol=1e-5)
    assert (paid.cost.units, paid.cost.amount) == (1, 2)
    items = [{"x": X[:1].tolist()} for _ in range(3)]
    batch = http.post(f"/v1/models/{model_id}/infer/batch", json={"items": items},
                      headers=consumer.headers)  # fmt: skip
    assert batch.status_code == 200 and len(batch.json()["items"]) == 3, batch.text
    endpoint = http.post(
        "/v1/webhooks/endpoints", json={"url": hooks.url}, headers=consumer.headers
    )
    assert endpoint.status_code == 201, endpoint.text
    submitted = {"inputs": {"x": X.tolist()}, "webhook": True}
    job = http.post(f"/v1/models/{model_id}/jobs", json=submitted, headers=consumer.headers).json()
    wait_until(lambda: len(hooks.got) >= 1, 90, "the job's webhook")
    body, headers = hooks.got[0]
    event = Webhook(endpoint.json()["secret"]).verify(body, headers)
    assert event["data"]["id"] == job["id"] and event["data"]["status"] == "succeeded"


def billed(caller: Client) -> int:
    return sum(total.amount for total in caller.billing.usage().totals)


class NextMonth(SystemClock):
    def now(self) -> datetime:
        return super().now() + timedelta(days=32)


def invoiced_and_earned(settings: Settings, http: httpx.Client, consumer: Account,
                        publisher: Account) -> None:  # fmt: skip
    """The month closed (the command `aimarket billing close-period` runs, a month on): an
    invoice of the priced calls, paid; the publisher's share of the sale and the calls."""
    invoices, close = standalone_invoices(settings, NextMonth())
    try:
        closed = invoices.close_period(month_of(SystemClock().now()))
    finally:
        close()
    assert (closed.invoices, closed.pushed, closed.waiting) == (1, 1, 0), closed

    def invoice() -> dict[str, Any]:
        [only] = http.get("/v1/billing/invoices", headers=consumer.headers).json()["items"]
        return dict(only)

    wait_until(lambda: invoice()["status"] == "paid", 30, "the paid invoice in the read model")
    assert (invoice()["total"], invoice()["currency"]) == (10, "EUR")
    earned = http.get("/v1/publishers/me/earnings", headers=publisher.headers).json()
    assert sum(item["gross"] for item in earned["items"]) == 4900 + 10, earned


def reviewed(http: httpx.Client, consumer: Account, model_id: str) -> None:
    review = {"version": "1.0.0", "rating": 5, "title": "Exact", "body": "Matches numpy."}
    url = f"/v1/models/{model_id}/reviews"
    # the usage roll-up makes the caller a user of the model (a moment after the calls)
    wait_until(lambda: http.post(url, json=review, headers=consumer.headers).status_code == 201,
               60, "the review accepted")  # fmt: skip
    assert [r["rating"] for r in http.get(url).json()["items"]] == [5]


def audited(http: httpx.Client, admin: Account, model_id: str, purchase_id: str,
            consumer: Account) -> None:  # fmt: skip
    """The event store made visible: each aggregate's history and its state back then."""
    for aggregate, first in ((model_id, "Model.Created"), (purchase_id, "Purchase.Requested"),
                             (consumer.id, "User.Registered")):  # fmt: skip
        url = f"/v1/audit/aggregates/{aggregate}"
        events = http.get(f"{url}/events", headers=admin.headers).json()["items"]
        assert events[0]["type"] == first and len(events) >= 2, events
        assert [e["version"] for e in events] == list(range(1, len(events) + 1))
        then = http.get(f"{url}/state", params={"version": 1}, headers=admin.headers).json()
        now = http.get(f"{url}/state", headers=admin.headers).json()
        # the workers may have added an event since the history was read
        assert then["version"] == 1 and now["version"] >= len(events)
        assert then["state"] != now["state"]


def partner_received_every_public_event(settings: Settings) -> None:
    """A partner's plain Kafka consumer got each public event of this deployment, each
    valid against its published JSON Schema (docs/events)."""
    from aiokafka import AIOKafkaConsumer

    app = open_marketplace(settings)
    try:
        stored = [to_public(e, key=PARTNER_KEY.encode()) for _, e in read_after(app, 0, 10_000)]
    finally:
        app.close()
    wanted = {e.value["id"] for e in stored if e is not None}

    async def consume() -> dict[str, dict[str, Any]]:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=settings.kafka_bootstrap_servers, auto_offset_reset="earliest",
            group_id=f"partner-{uuid.uuid4().hex}", metadata_max_age_ms=2000,
        )  # fmt: skip
        consumer.subscribe(pattern=r"^aimarket\.public\.v1\..*")
        await consumer.start()
        found: dict[str, dict[str, Any]] = {}
        try:
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline and not wanted <= found.keys():
                for records in (await consumer.getmany(timeout_ms=500)).values():
                    for event in (json.loads(r.value) for r in records):
                        found[event["id"]] = event
        finally:
            await consumer.stop()
        return {i: found[i] for i in wanted if i in found}

    got = asyncio.run(consume())
    assert len(wanted) >= 8 and got.keys() == wanted  # 3 people registered and verified, a key
    for event in got.values():
        schema = json.loads(
            (DOCS_DIR / f"aimarket.public.v1.{event['type']}.schema.json").read_text()
        )
        Draft202012Validator(schema, format_checker=FormatChecker()).validate(event)
        assert not re.search(r"@example\.com", json.dumps(event))
