"""The cluster's billing usage store (PostgreSQL), as the metering worker feeds it: a
batch is inserted and priced in a few statements, each request id priced once."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest

from commands.billing_ports import NoPlanAllowances
from commands.billing_usage import UsagePricer
from infra.billing_usage.postgres import PostgresBillingUsage
from infra.settings import Settings
from infra.stores import postgres_pool
from infra.usage.postgres import PostgresUsageLedger
from tests.integration.test_metering import call

AT = datetime(2031, 3, 4, 5, 6, tzinfo=UTC)
SCHEDULE = (("2000-01-01T00:00:00+00:00", {"currency": "USD", "free_requests_per_month": 1,
                                          "price_per_request": 7}),)  # fmt: skip


@pytest.fixture
def store(cluster_settings: Settings) -> Iterator[PostgresBillingUsage]:
    closers: list[Callable[[], object]] = []
    pool = postgres_pool(cluster_settings, closers)
    PostgresUsageLedger(pool)  # the ledger's table, as the worker finds it
    yield PostgresBillingUsage(pool)
    pool.close()


def test_a_request_twice_in_a_batch_and_the_batch_again_are_priced_once(
    store: PostgresBillingUsage,
) -> None:
    consumer, model = uuid4(), uuid4()
    price = UsagePricer(lambda _model: SCHEDULE, NoPlanAllowances())
    first, second, third = (call(consumer, model, AT) for _ in range(3))
    batch = [first, second, first, third]  # the first one twice
    priced = store.ingest(batch, price)
    assert sorted(p.record.request_id for p in priced) == sorted(
        r.request_id for r in (first, second, third)
    )
    assert store.ingest(batch, price) == []  # redelivered: nothing new
    [day] = store.days(consumer, "2031-03-01", "2031-03-31")
    assert (day.model_id, day.calls, day.billable_units, day.amount) == (model, 3, 2, 14)
    assert [(m.consumer_id, m.amount) for m in store.month_totals("2031-03")
            if m.consumer_id == consumer] == [(UUID(str(consumer)), 14)]  # fmt: skip
