"""Analytics on both profiles, on the scripted month of tests/integration/test_invoices.py
(purchases, one refunded, a plan, metered calls, the period closed): each report's numbers
equal the usage report's, the invoices' and the publisher's ledger's exactly; a caller sees
only their own; days follow the time zone asked for."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient

from commands.metering_ports import CallStatus, UsageRecord, month_of
from domain.ledger import PublisherLedger
from domain.ledger_rules import Account as Books
from domain.pricing import Money
from infra.billing_wiring import invoice_commands
from infra.bootstrap import Container, build_container
from infra.settings import Settings
from tests.billing_support import metered
from tests.inference_support import (
    affine_model,
    create_model,
    on_triton,
    upload_and_publish,
    wait_deployed,
)
from tests.integration.test_access_and_reviews import make_admin
from tests.integration.test_invoices import PRICING, NextMonth, billed, calls
from tests.pipeline import wait_until
from tests.purchase_support import add_card, buy, inject, wait_state
from tests.support import Account, MovableClock, verified_account
from workers.rebuild import verify


def by_month(rows: list[dict[str, Any]]) -> dict[tuple[str, str, str], tuple[int, ...]]:
    """Analytics' UTC days summed per model x month x currency, as the earnings show them."""
    sums: dict[tuple[str, str, str], tuple[int, ...]] = {}
    for row in rows:
        key = (row["model_id"], row["day"][:7], row["currency"])
        figures = (row["gross"], row["refunded"], row["platform_fee"], row["earnings"])
        was = sums.get(key, (0, 0, 0, 0))
        sums[key] = tuple(a + b for a, b in zip(was, figures, strict=True))
    return {key: value for key, value in sums.items() if any(value)}


def usage_days(client: TestClient, who: Account, first: str, last: str) -> dict[Any, int]:
    """The usage report's cost per UTC day and model."""
    params = {"from": first, "to": last}
    answer = client.get("/v1/billing/usage", params=params, headers=who.headers)
    assert answer.status_code == 200, answer.text
    return {(d["day"], d["model_id"]): d["cost"]["amount"] for d in answer.json()["days"]}


@pytest.fixture
def settings(settings: Settings, profile: str, request: pytest.FixtureRequest) -> Settings:
    settings = on_triton(settings, profile, request, "cluster_purchase_worker")
    return metered(settings)


def report(client: TestClient, who: Account, kind: str, **params: Any) -> dict[str, Any]:
    answer = client.get(f"/v1/analytics/{kind}", params=params, headers=who.headers)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def as_csv(client: TestClient, who: Account, kind: str, **params: Any) -> list[dict[str, str]]:
    headers = {**who.headers, "Accept": "text/csv"}
    answer = client.get(f"/v1/analytics/{kind}", params=params, headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(answer.text)))


def total(rows: list[dict[str, Any]], name: str) -> int:
    return sum(int(row[name]) for row in rows)


def test_a_scripted_month_reads_the_same_in_analytics_as_in_usage_invoices_and_ledger(
    client: TestClient, container: Container, outbox: Path, clock: MovableClock,
    metering: None,
) -> None:  # fmt: skip
    day = clock.now().date()
    publisher = verified_account(client, outbox, role="publisher")
    rival = verified_account(client, outbox, role="publisher")
    buyer, subscriber = verified_account(client, outbox), verified_account(client, outbox)
    model_id = create_model(client, publisher, pricing=PRICING)
    upload_and_publish(client, publisher, model_id, affine_model())
    assert wait_deployed(container, model_id) == "deployed"
    add_card(client, buyer)
    assert wait_state(client, buyer, buy(client, buyer, model_id).json()["id"])["state"] == (
        "completed"
    )
    calls(client, buyer, model_id, 5)  # 2 free, 3 at 5
    add_card(client, subscriber)
    inject(container, "create_subscription", "transient_5xx")
    inject(container, "create_subscription", "transient_5xx")
    made = [buy(client, subscriber, model_id, plan="pro").json()["id"] for _ in range(2)]
    assert sorted(wait_state(client, subscriber, m)["state"] for m in made) == [
        "canceled", "completed",
    ]  # fmt: skip
    calls(client, subscriber, model_id, 5)  # 2 free, 2 in the plan, 1 at 5
    wait_until(lambda: billed(client, buyer) == 15, 60, "the buyer's calls priced")
    wait_until(lambda: billed(client, subscriber) == 5, 60, "the subscriber's calls priced")
    closer = invoice_commands(
        container.app, container.billing.usage.store, container.billing.gateway,
        container.billing.ledger, NextMonth(clock),
    )  # fmt: skip
    closer.close_period(month_of(clock.now()))
    # A window holding the purchases (the cluster's saga books them by the wall clock),
    # the calls and the invoices paid at the close, a month on.
    whole = {"from": (day - timedelta(days=2)).isoformat(),
             "to": (day + timedelta(days=34)).isoformat()}  # fmt: skip

    # The consumer: their own calls and spend only.
    mine = report(client, buyer, "usage", **whole)
    assert {(r["model_id"], r["currency"]) for r in mine["days"]} == {(model_id, "EUR")}
    assert (total(mine["days"], "calls"), total(mine["days"], "errors")) == (5, 0)
    assert total(mine["days"], "spend") == 15 == billed(client, buyer)  # the usage report's
    assert all(r["mean_latency_ms"] > 0 for r in mine["days"])
    spent = {(r["day"], r["model_id"]): r["spend"] for r in mine["days"] if r["spend"]}
    assert spent == usage_days(client, buyer, whole["from"], whole["to"])
    assert as_csv(client, buyer, "usage", **whole) == [
        {k: str(v) for k, v in row.items()} for row in mine["days"]
    ]
    theirs = report(client, subscriber, "usage", **whole)
    assert (total(theirs["days"], "calls"), total(theirs["days"], "spend")) == (5, 5)

    # The publisher: every figure is the ledger's.
    books = container.app.load(PublisherLedger, PublisherLedger.create_id(UUID(publisher.id)))
    gross = sum(charge["gross"] for charge in books.charges.values())
    refunded = sum(charge["refunded"] for charge in books.charges.values())
    assert (gross, refunded) == (1000 + 1500 + 1500 + 15 + 5, 1500)

    def published() -> dict[str, Any]:
        return report(client, publisher, "publisher", **whole)

    wait_until(lambda: total(published()["days"], "gross") == gross, 60, "the ledger projected")
    sold = published()
    rows = sold["days"]
    assert {r["model_id"] for r in rows} == {model_id}
    assert (total(rows, "gross"), total(rows, "refunded"), total(rows, "revenue")) == (
        gross, refunded, gross - refunded,
    )  # fmt: skip
    fees = books.balance("EUR", Books.PLATFORM_FEES)
    earned = sum(row["share"] for row in books.earnings.values())
    assert (total(rows, "platform_fee"), total(rows, "earnings")) == (fees, earned)
    assert (total(rows, "calls"), total(rows, "errors"), sold["unique_consumers"]) == (10, 0, 2)
    assert as_csv(client, publisher, "publisher", **whole) == [
        {k: str(v) for k, v in row.items()} for row in rows
    ]
    assert report(client, rival, "publisher", **whole)["days"] == []
    earnings = client.get("/v1/publishers/me/earnings", headers=publisher.headers).json()
    assert by_month(rows) == {
        (e["model_id"], e["period"], e["currency"]): (
            e["gross"], e["refunded"], e["platform_fee"], e["publisher_share"],
        )
        for e in earnings["items"]
    }  # fmt: skip

    # The platform: admins only; this month's fees are among the platform's.
    for who in (buyer, publisher):
        refused = client.get("/v1/analytics/platform", headers=who.headers)
        assert (refused.status_code, refused.json()["error"]["code"]) == (403, "forbidden")
    admin = make_admin(client, container, outbox)
    platform = report(client, admin, "platform", **whole)
    table = as_csv(client, admin, "platform", **whole)
    if container.settings.profile == "embedded":  # the cluster's is shared with other tests
        assert table == [{k: str(v) for k, v in row.items()} for row in platform["days"]]
    assert table and list(table[0]) == list(platform["days"][0])
    assert total(platform["days"], "platform_fee") >= fees
    assert platform["active_users"] >= 2
    top = {m["model_id"]: m for m in platform["top_models"]}
    if model_id in top:  # the cluster's window may hold busier models of other tests
        assert (top[model_id]["calls"], top[model_id]["unique_consumers"]) == (10, 2)


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"tz": "Mars/Olympus_Mons"}, "unknown_time_zone"),
        ({"tz": "../etc/passwd"}, "unknown_time_zone"),
        ({"from": "2025-01-01", "to": "2026-01-02"}, "range_too_large"),
        ({"from": "2026-02-01", "to": "2026-01-31"}, "invalid_range"),
    ],
)
def test_a_bad_zone_or_range_is_a_422_with_a_stable_code(
    client: TestClient, outbox: Path, params: dict[str, str], code: str
) -> None:
    consumer = verified_account(client, outbox)
    for kind in ("usage", "publisher"):
        answer = client.get(f"/v1/analytics/{kind}", params=params, headers=consumer.headers)
        assert (answer.status_code, answer.json()["error"]["code"]) == (422, code), answer.text


def test_a_call_at_2330_utc_is_on_the_next_day_in_berlin(
    client: TestClient, container: Container, outbox: Path, clock: MovableClock,
    metering: None,
) -> None:  # fmt: skip
    consumer = verified_account(client, outbox)
    day = clock.now().date() - timedelta(days=3)
    late = datetime.combine(day, time(23, 30), UTC)
    answered = UsageRecord(
        request_id=f"late-{uuid4()}", consumer_id=UUID(consumer.id), api_key_id=None,
        model_id=uuid4(), publisher_id=uuid4(), version="1.0.0", units=1, compute_ms=2.5,
        status=CallStatus.SUCCEEDED, cold_start=False, cached=False, cost_amount=0,
        currency="EUR", at=late,
    )  # fmt: skip
    timed_out = replace(
        answered, request_id=f"late-{uuid4()}", status=CallStatus.TIMED_OUT, compute_ms=0.5,
        at=late + timedelta(minutes=10),
    )  # fmt: skip
    for record in (answered, timed_out):  # through the inference path's meter
        container.usage_meter.record(record)
    container.usage_meter.flush()
    span = {
        "from": (day - timedelta(days=1)).isoformat(),
        "to": (day + timedelta(days=2)).isoformat(),
    }

    def days(tz: str) -> list[tuple[Any, ...]]:
        rows = report(client, consumer, "usage", tz=tz, **span)["days"]
        names = ("day", "calls", "errors", "error_rate", "mean_latency_ms")
        return [tuple(r[name] for name in names) for r in rows]

    wait_until(lambda: days("UTC") == [(day.isoformat(), 2, 1, 0.5, 1.5)], 60, "metered")
    assert days("Europe/Berlin") == [((day + timedelta(days=1)).isoformat(), 2, 1, 0.5, 1.5)]
    assert days("America/New_York") == [(day.isoformat(), 2, 1, 0.5, 1.5)]


def test_the_revenue_read_model_rebuilt_from_the_events_is_the_live_one(tmp_path: Path) -> None:
    built = build_container(Settings(profile="embedded", data_dir=tmp_path))
    try:
        at, publisher, model = datetime.now(UTC), uuid4(), uuid4()
        for n in range(3):
            built.billing.ledger.record_charge(f"c{n}", publisher, model, Money(900, "EUR"), at)
        built.billing.ledger.record_refund("r1", "c1", publisher, Money(300, "EUR"), at)
        assert built.read.runner is not None
        built.read.runner.run_until_idle()
        live = built.read.store.get("revenue", str(PublisherLedger.create_id(publisher)))
        assert live is not None and len(live["entries"]) == 4
        diff = verify(built.app, built.read.store, "revenue", lambda _: True, lambda _p, _e: None)
        assert diff == []
    finally:
        built.close()
