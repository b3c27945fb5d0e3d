"""Billing periods and the Invoice aggregate: months, drafting once, paying once."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast
from uuid import uuid4

import pytest

from commands.invoicing import check_period
from domain.errors import InvalidInput
from domain.invoice import Invoice, InvoiceStatus
from domain.pricing import add_month, previous_period
from workers.period_closer import PeriodCloser

AT = datetime(2031, 5, 6, 7, 8, tzinfo=UTC)


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (datetime(2031, 1, 15, 9, tzinfo=UTC), datetime(2031, 2, 15, 9, tzinfo=UTC)),
        (datetime(2031, 1, 31, tzinfo=UTC), datetime(2031, 2, 28, tzinfo=UTC)),
        (datetime(2032, 1, 31, tzinfo=UTC), datetime(2032, 2, 29, tzinfo=UTC)),
        (datetime(2031, 12, 31, tzinfo=UTC), datetime(2032, 1, 31, tzinfo=UTC)),
    ],
)
def test_a_monthly_period_ends_a_month_later_or_on_the_last_day(
    start: datetime, end: datetime
) -> None:
    assert add_month(start) == end


def test_the_period_before_january_is_last_december() -> None:
    assert previous_period("2031-01") == "2030-12"
    assert previous_period("2031-10") == "2031-09"


@pytest.mark.parametrize("bad", ["2031-13", "2031-00", "31-01", "2031/01", "2031-1x", ""])
def test_a_period_is_a_month_written_yyyy_mm(bad: str) -> None:
    with pytest.raises(InvalidInput):
        check_period(bad)
    assert check_period("2031-02") == "2031-02"


def _invoice(*amounts: int) -> Invoice:
    lines = [
        {"model_id": str(uuid4()), "publisher_id": str(uuid4()), "description": "m",
         "units": 3, "amount": amount}
        for amount in amounts
    ]  # fmt: skip
    return Invoice(uuid4(), "2031-04", "EUR", lines, AT.isoformat())


def test_an_invoice_totals_its_lines_and_is_pushed_then_paid_once() -> None:
    invoice = _invoice(120, 30)
    assert (invoice.total, invoice.status) == (150, InvoiceStatus.DRAFT)
    invoice.mark_pushed("in_1")
    invoice.mark_pushed("in_2")  # a close run again pushes nothing new
    assert (invoice.status, invoice.provider_id) == (InvoiceStatus.OPEN, "in_1")
    assert invoice.mark_paid(AT) is True
    assert invoice.mark_paid(AT) is False
    assert invoice.status == InvoiceStatus.PAID
    assert [type(e).__name__ for e in invoice.collect_events()] == [
        "Drafted", "Pushed", "Paid",
    ]  # fmt: skip


def test_an_invoice_has_lines_and_no_negative_amount() -> None:
    with pytest.raises(InvalidInput):
        _invoice()
    with pytest.raises(InvalidInput):
        _invoice(10, -1)


def test_an_invoice_id_is_one_per_consumer_period_and_currency() -> None:
    consumer = uuid4()
    ids = {
        Invoice.create_id(consumer, "2031-04", "EUR"),
        Invoice.create_id(consumer, "2031-04", "USD"),
        Invoice.create_id(consumer, "2031-05", "EUR"),
        Invoice.create_id(uuid4(), "2031-04", "EUR"),
    }
    assert len(ids) == 4
    assert Invoice.create_id(consumer, "2031-04", "EUR") in ids


class Fixed:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at


@pytest.mark.parametrize(
    ("now", "due"),
    [
        (datetime(2031, 2, 1, 0, 30, tzinfo=UTC), "2030-12"),  # January is in its grace
        (datetime(2031, 2, 1, 1, 30, tzinfo=UTC), "2031-01"),
        (datetime(2031, 1, 15, tzinfo=UTC), "2030-12"),
    ],
)
def test_the_closer_takes_the_last_month_that_ended_an_hour_ago(now: datetime, due: str) -> None:
    closer = PeriodCloser(cast(Any, None), Fixed(now), grace_s=3600)
    assert closer.due() == due
