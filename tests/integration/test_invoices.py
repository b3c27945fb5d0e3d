"""A scripted month on both profiles: purchases (one refunded), a plan, metered calls; then
the period closes. The numbers must agree: each invoice is the usage priced by the price
list in force less the free tier and the plan's included requests, the provider collects
it, and the publisher's ledger holds exactly the charges, the refund and the invoices."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import numpy as np
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from commands.metering_ports import month_of
from domain.invoice import Invoice, InvoiceStatus
from domain.ledger import PublisherLedger
from domain.ledger_rules import Account as Books
from infra.billing_wiring import invoice_commands
from infra.bootstrap import Container
from infra.cli import app as cli
from infra.settings import Settings
from tests.billing_support import metered
from tests.inference_support import (
    affine_model,
    api_key,
    create_model,
    infer,
    on_triton,
    upload_and_publish,
    wait_deployed,
)
from tests.pipeline import settings_env, wait_until
from tests.purchase_support import add_card, buy, inject, wait_state
from tests.support import Account, MovableClock, verified_account

PRICING = {
    "currency": "EUR",
    "free_requests_per_month": 2,
    "price_per_request": 5,
    "purchase_price": 1000,
    "plans": [{"name": "pro", "monthly_price": 1500, "included_requests": 2}],
}
X = np.ones((1, 4), dtype=np.float32).tolist()


class NextMonth:
    """The closer's clock: the API's own, a month and a day on."""

    def __init__(self, clock: MovableClock) -> None:
        self.clock = clock

    def now(self) -> datetime:
        return self.clock.now() + timedelta(days=32)


@pytest.fixture
def settings(settings: Settings, profile: str, request: pytest.FixtureRequest) -> Settings:
    settings = on_triton(settings, profile, request, "cluster_purchase_worker")
    return metered(settings)


def billed(client: TestClient, who: Account) -> int:
    answer = client.get("/v1/billing/usage", headers=who.headers)
    assert answer.status_code == 200, answer.text
    return sum(total["amount"] for total in answer.json()["totals"])


def calls(client: TestClient, who: Account, model_id: str, count: int) -> None:
    key = api_key(client, who)
    for _ in range(count):
        answer = infer(client, key, model_id, {"x": X})
        assert answer.status_code == 200, answer.text


def invoices_of(client: TestClient, who: Account) -> list[dict[str, Any]]:
    answer = client.get("/v1/billing/invoices", headers=who.headers)
    assert answer.status_code == 200, answer.text
    return list(answer.json()["items"])


def test_a_month_of_purchases_refunds_plans_and_calls_invoices_and_books_what_was_priced(
    client: TestClient, container: Container, outbox: Path, clock: MovableClock,
    metering: None,
) -> None:  # fmt: skip
    publisher = verified_account(client, outbox, role="publisher")
    buyer, subscriber = verified_account(client, outbox), verified_account(client, outbox)
    model_id = create_model(client, publisher, pricing=PRICING)
    upload_and_publish(client, publisher, model_id, affine_model())
    assert wait_deployed(container, model_id) == "deployed"

    # The buyer pays once (1000), then makes 5 calls: 2 free, 3 at 5.
    add_card(client, buyer)
    bought = wait_state(client, buyer, buy(client, buyer, model_id).json()["id"])
    assert bought["state"] == "completed", bought
    calls(client, buyer, model_id, 5)
    # The subscriber's two plan purchases race (first charges fail on a provider error,
    # so both are accepted): one subscribes (1500), one is captured then refunded.
    add_card(client, subscriber)
    inject(container, "create_subscription", "transient_5xx")
    inject(container, "create_subscription", "transient_5xx")
    made = [buy(client, subscriber, model_id, plan="pro").json()["id"] for _ in range(2)]
    ended = sorted(wait_state(client, subscriber, m)["state"] for m in made)
    assert ended == ["canceled", "completed"]
    # 5 calls: 2 free, 2 included in the plan, 1 at 5.
    calls(client, subscriber, model_id, 5)
    wait_until(lambda: billed(client, buyer) == 15, 60, "the buyer's calls priced")
    wait_until(lambda: billed(client, subscriber) == 5, 60, "the subscriber's calls priced")

    period = month_of(clock.now())
    closer = invoice_commands(
        container.app, container.billing.usage.store, container.billing.gateway,
        container.billing.ledger, NextMonth(clock),
    )  # fmt: skip
    closed = closer.close_period(period)
    assert closer.close_period(period).pushed == 0  # run again: nothing new
    ids = {who.id: Invoice.create_id(UUID(who.id), period, "EUR") for who in (buyer, subscriber)}
    found = {who: container.app.load(Invoice, invoice_id) for who, invoice_id in ids.items()}
    assert {who: (i.total, i.status) for who, i in found.items()} == {
        buyer.id: (15, InvoiceStatus.PAID),
        subscriber.id: (5, InvoiceStatus.PAID),
    }
    assert closed.invoices >= 2  # other tests' consumers may share the cluster's month

    books = container.app.load(PublisherLedger, PublisherLedger.create_id(UUID(publisher.id)))
    gross = sum(charge["gross"] for charge in books.charges.values())
    refunded = sum(charge["refunded"] for charge in books.charges.values())
    invoiced = sum(
        charge["gross"] for tx, charge in books.charges.items() if tx.startswith("invoice:")
    )
    assert (gross, refunded, invoiced) == (1000 + 1500 + 1500 + 15 + 5, 1500, 15 + 5)
    assert books.balance("EUR", Books.CUSTOMER_PAYMENTS) == gross - refunded

    wait_until(lambda: len(invoices_of(client, buyer)) == 1, 60, "the invoice listed")
    [listed] = invoices_of(client, buyer)
    assert (listed["period"], listed["total"], listed["lines"][0]["units"]) == (period, 15, 3)
    other = client.get(f"/v1/billing/invoices/{ids[subscriber.id]}", headers=buyer.headers)
    assert (other.status_code, other.json()["error"]["code"]) == (404, "invoice_not_found")


def test_the_operator_closes_a_past_month_and_is_told_when_a_month_has_not_ended(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in settings_env(settings).items():
        monkeypatch.setenv(name, value)
    past = CliRunner().invoke(cli, ["billing", "close-period", "--period", "2020-01"])
    assert past.exit_code == 0, past.output
    assert "2020-01: 0 invoices, 0 pushed now, 0 waiting" in past.output
    this_month = month_of(datetime.now(UTC))
    refused = CliRunner().invoke(cli, ["billing", "close-period", "--period", this_month])
    assert (refused.exit_code, "period_open" in refused.output) == (2, True)
    wrong = CliRunner().invoke(cli, ["billing", "close-period", "--period", "2020-13"])
    assert (wrong.exit_code, "invalid_period" in wrong.output) == (2, True)
