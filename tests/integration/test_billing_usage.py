"""Usage metered, priced and capped, end to end on both profiles: calls through the API,
then (cluster) the usage topic and `aimarket worker metering`, (embedded) the in-process
pricer, into the billing usage that `GET /v1/billing/usage` shows; budgets email at
50/80/100 % once each (through the notifier) and stop calls with 402 `budget_exhausted`
until raised."""

from __future__ import annotations

import email
from pathlib import Path
from typing import Any
from uuid import UUID

import numpy as np
import pytest
from fastapi.testclient import TestClient

from commands.usage_events import encode
from infra.bootstrap import Container
from infra.settings import Settings
from tests.billing_support import metered
from tests.inference_support import api_key, code, deployed_model, infer, on_triton
from tests.pipeline import wait_until
from tests.support import Account, verified_account

X = np.random.default_rng(5).standard_normal((1, 4)).astype(np.float32).tolist()
PRICING = {"currency": "USD", "free_requests_per_month": 1, "price_per_request": 10}


class Paid:
    """Billing's purchases hand in who has paid; here everybody has."""

    def has_paid_access(self, consumer_id: UUID, model_id: UUID) -> bool:
        return True


@pytest.fixture
def settings(settings: Settings, profile: str, request: pytest.FixtureRequest) -> Settings:
    settings = on_triton(settings, profile, request)
    return metered(settings)


def usage(client: TestClient, who: Account) -> dict[str, Any]:
    answer = client.get("/v1/billing/usage", headers=who.headers)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def billed(client: TestClient, who: Account) -> int:
    return sum(t["amount"] for t in usage(client, who)["totals"])


def budget_emails(outbox: Path, to: str) -> list[str]:
    found = []
    for path in sorted(outbox.glob("*.eml")) if outbox.exists() else []:
        message = email.message_from_bytes(path.read_bytes())
        if message["To"] == to and "budget" in str(message["Subject"]):
            found.append(str(message["Subject"]))
    return found


def test_metered_calls_are_priced_shown_to_their_caller_only_and_capped_by_the_budget(
    client: TestClient, container: Container, settings: Settings, outbox: Path, metering: None,
    notifier: None,
) -> None:  # fmt: skip
    publisher = verified_account(client, outbox, role="publisher")
    consumer, other = verified_account(client, outbox), verified_account(client, outbox)
    model_id = deployed_model(client, container, publisher, pricing=PRICING)
    container.inference.paid_access = Paid()
    key = api_key(client, consumer)
    cap = client.put("/v1/billing/budget", headers=consumer.headers,
                     json={"monthly_cap": {"amount": 30, "currency": "USD"}})  # fmt: skip
    assert cap.status_code == 200, cap.text

    for _ in range(4):  # one free, then 10 each: 30 is the cap
        answer = infer(client, key, model_id, {"x": X})
        assert answer.status_code == 200, answer.text
    wait_until(lambda: billed(client, consumer) == 30, 60, "the calls priced")
    report = usage(client, consumer)
    assert [(d["model_id"], d["calls"], d["billable_units"]) for d in report["days"]] == [
        (model_id, 4, 3)
    ]
    assert report["totals"] == [{"amount": 30, "currency": "USD"}]
    assert usage(client, other)["days"] == []  # another consumer sees none of it
    wait_until(lambda: len(budget_emails(outbox, consumer.email)) == 3, 30, "50/80/100 % emails")

    stopped = infer(client, key, model_id, {"x": X})
    assert (stopped.status_code, code(stopped)) == (402, "budget_exhausted")
    raised = client.put("/v1/billing/budget", headers=consumer.headers,
                        json={"monthly_cap": {"amount": 1000, "currency": "USD"}})  # fmt: skip
    assert raised.json()["caps"][0]["spent_this_month"]["amount"] == 30
    assert infer(client, key, model_id, {"x": X}).status_code == 200
    wait_until(lambda: billed(client, consumer) == 40, 60, "the next call priced")
    assert len(budget_emails(outbox, consumer.email)) == 3  # 40 of 1000 crosses nothing


def test_a_redelivered_usage_record_is_billed_once(
    client: TestClient, container: Container, settings: Settings, outbox: Path, metering: None
) -> None:
    publisher = verified_account(client, outbox, role="publisher")
    consumer = verified_account(client, outbox)
    model_id = deployed_model(client, container, publisher, pricing=PRICING)
    container.inference.paid_access = Paid()
    key = api_key(client, consumer)
    for _ in range(2):
        assert infer(client, key, model_id, {"x": X}).status_code == 200
    wait_until(lambda: billed(client, consumer) == 10, 60, "the calls priced")
    meter = container.usage_meter
    since = meter.ledger.records_for(UUID(consumer.id), container.inference._clock.now()
                                     .replace(year=2000), 10)  # fmt: skip
    assert len(since) == 2
    # Redelivered below the meter (which would drop it): to the sink or ledger again.
    assert encode(since[-1])  # it is a CloudEvent on the wire in the cluster
    meter.ledger.append([since[-1]])
    assert infer(client, key, model_id, {"x": X}).status_code == 200
    wait_until(lambda: billed(client, consumer) == 20, 60, "the third call priced")
    assert usage(client, consumer)["days"][0]["calls"] == 3
