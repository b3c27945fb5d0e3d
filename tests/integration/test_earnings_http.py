"""`GET /v1/publishers/me/earnings` and `/payouts` on both profiles: a publisher sees their
own ledger, nobody else's; API keys need `billing:read`. And `aimarket billing payout`."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from domain.ledger import PublisherLedger
from domain.ledger_rules import Account
from domain.pricing import Money
from infra.bootstrap import Container
from infra.cli import app as cli
from infra.settings import Settings
from infra.stores import open_marketplace
from tests.support import Account as Caller
from tests.support import verified_account

MARCH, APRIL = datetime(2026, 3, 10, tzinfo=UTC), datetime(2026, 4, 2, tzinfo=UTC)


def key_with(client: TestClient, account: Caller, *scopes: str) -> dict[str, str]:
    made = client.post(
        "/v1/auth/api-keys", json={"name": "books", "scopes": list(scopes)}, headers=account.headers
    )
    assert made.status_code == 201, made.text
    return {"X-API-Key": made.json()["key"]}


def book_sales(container: Container, publisher: UUID, model: UUID) -> None:
    ledger = container.billing.ledger
    ledger.record_charge(f"pi_{uuid4()}", publisher, model, Money(1000, "USD"), MARCH)
    charge = f"pi_{uuid4()}"
    ledger.record_charge(charge, publisher, model, Money(500, "USD"), APRIL)
    ledger.record_refund(f"re_{uuid4()}", charge, publisher, Money(100, "USD"), APRIL)


def test_a_publisher_sees_their_earnings_per_model_and_period(
    client: TestClient, container: Container, outbox: Path
) -> None:
    publisher = verified_account(client, outbox, "publisher")
    model = uuid4()
    book_sales(container, UUID(publisher.id), model)
    body = client.get("/v1/publishers/me/earnings", headers=publisher.headers).json()
    figures = [
        (r["period"], r["gross"], r["refunded"], r["platform_fee"], r["publisher_share"])
        for r in body["items"]
    ]
    assert figures == [("2026-04", 500, 100, 80, 320), ("2026-03", 1000, 0, 200, 800)]
    assert {r["model_id"] for r in body["items"]} == {str(model)}
    assert body["balances"] == [
        {"currency": "USD", "payable": 1120, "in_transit": 0, "paid_out": 0, "receivable": 0}
    ]
    march = client.get(
        "/v1/publishers/me/earnings", params={"period": "2026-03"}, headers=publisher.headers
    ).json()
    assert [r["period"] for r in march["items"]] == ["2026-03"]
    wrong = client.get(
        "/v1/publishers/me/earnings", params={"period": "2026-13"}, headers=publisher.headers
    )
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (422, "invalid_period")


def test_another_publisher_sees_none_of_them(
    client: TestClient, container: Container, outbox: Path
) -> None:
    publisher = verified_account(client, outbox, "publisher")
    other = verified_account(client, outbox, "publisher")
    book_sales(container, UUID(publisher.id), uuid4())
    container.billing.ledger.payout(UUID(publisher.id))
    for path in ("/v1/publishers/me/earnings", "/v1/publishers/me/payouts"):
        seen = client.get(path, headers=other.headers)
        assert seen.status_code == 200
        assert seen.json()["items"] == []
    assert client.get("/v1/publishers/me/earnings").status_code == 401


def test_payouts_are_listed_newest_first(
    client: TestClient, container: Container, outbox: Path
) -> None:
    publisher = verified_account(client, outbox, "publisher")
    book_sales(container, UUID(publisher.id), uuid4())
    container.billing.ledger.payout(UUID(publisher.id))
    container.billing.ledger.record_charge(
        f"pi_{uuid4()}", UUID(publisher.id), uuid4(), Money(100, "USD"), APRIL
    )
    container.billing.ledger.payout(UUID(publisher.id))
    items = client.get("/v1/publishers/me/payouts", headers=publisher.headers).json()["items"]
    assert [(p["amount"], p["currency"], p["status"]) for p in items] == [
        (80, "USD", "completed"),
        (1120, "USD", "completed"),
    ]
    assert all(p["transfer_id"].startswith("tr_") for p in items)


def test_an_api_key_needs_billing_read(
    client: TestClient, container: Container, outbox: Path
) -> None:
    publisher = verified_account(client, outbox, "publisher")
    book_sales(container, UUID(publisher.id), uuid4())
    refused = client.get(
        "/v1/publishers/me/earnings", headers=key_with(client, publisher, "inference")
    )
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "insufficient_scope")
    reader = key_with(client, publisher, "billing:read")
    assert len(client.get("/v1/publishers/me/earnings", headers=reader).json()["items"]) == 2
    assert client.get("/v1/publishers/me/payouts", headers=reader).status_code == 200


@pytest.mark.parametrize("profile", ["embedded"])
def test_the_cli_pays_a_publisher_out(
    client: TestClient, container: Container, outbox: Path, settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    publisher = verified_account(client, outbox, "publisher")
    book_sales(container, UUID(publisher.id), uuid4())
    monkeypatch.setenv("AIMARKET_DATA_DIR", str(settings.data_dir))
    ran = CliRunner().invoke(cli, ["billing", "payout", "--publisher", publisher.id])
    assert ran.exit_code == 0, ran.output
    assert f"{publisher.id}: completed 1120 USD" in ran.output
    again = CliRunner().invoke(cli, ["billing", "payout", "--publisher", publisher.id])
    assert f"{publisher.id}: nothing to pay out" in again.output
    app = open_marketplace(settings)
    try:
        books = app.load(PublisherLedger, PublisherLedger.create_id(UUID(publisher.id)))
        assert books.balance("USD", Account.PAID_OUT) == 1120
    finally:
        app.close()
