"""Pricing usage per billing period: pure, so the embedded pricer and the cluster's
metering worker bill alike.

Per consumer x model x month (UTC), the first units of the month are free up to the free
tier of the price list in force when each call was made plus the requests a plan includes;
past that, each unit costs that price list's `price_per_request`. Only calls that count
toward quotas (answered, not a cold start) are billed. The units already counted this month
come in (`counted`), so records priced batch by batch give the month's totals of one pass;
within a batch, calls are taken in time order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from commands.metering_ports import UsageRecord
from domain.pricing import price_in_force

MonthKey = tuple[UUID, UUID, str]  # consumer, model, month (YYYY-MM)
DayKey = tuple[UUID, UUID, str, str]  # consumer, model, day (YYYY-MM-DD), currency
SpendKey = tuple[UUID, UUID | None, str, str]  # consumer, api key, month, currency
Schedule = Sequence[tuple[str, dict[str, Any]]]


@dataclass(frozen=True)
class PricedCall:
    record: UsageRecord
    billable_units: int
    amount: int  # minor units
    currency: str


@dataclass(frozen=True)
class DayTotals:
    calls: int
    billable_units: int
    amount: int


def price_calls(
    records: Iterable[UsageRecord],
    counted: Mapping[MonthKey, int],
    schedule_of: Callable[[UUID], Schedule],
    included: Callable[[UUID, UUID, str], int],
) -> tuple[list[PricedCall], dict[MonthKey, int]]:
    """Each record priced, and the month's counted units after them (only the keys seen)."""
    counts: dict[MonthKey, int] = {}
    allowances: dict[MonthKey, int] = {}  # a plan's allowance is a load: once per key
    priced = []
    for record in sorted(records, key=lambda r: (r.at, r.request_id)):
        key = (record.consumer_id, record.model_id, record.month)
        pricing = price_in_force(schedule_of(record.model_id), record.at.isoformat())
        currency = str(pricing.get("currency") or record.currency)
        if not record.counts_toward_quota:
            priced.append(PricedCall(record, 0, 0, currency))
            continue
        before = counts.get(key, counted.get(key, 0))
        if key not in allowances:
            allowances[key] = included(*key)
        allowance = int(pricing.get("free_requests_per_month") or 0) + allowances[key]
        billable = max(0, record.units - max(0, allowance - before))
        counts[key] = before + record.units
        amount = billable * int(pricing.get("price_per_request") or 0)
        priced.append(PricedCall(record, billable, amount, currency))
    return priced, counts


def by_day(priced: Iterable[PricedCall]) -> dict[DayKey, DayTotals]:
    """Calls, billable units and amount per consumer x model x UTC day x currency."""
    days: dict[DayKey, DayTotals] = {}
    for call in priced:
        r = call.record
        key = (r.consumer_id, r.model_id, r.day, call.currency)
        was = days.get(key, DayTotals(0, 0, 0))
        days[key] = DayTotals(
            was.calls + 1, was.billable_units + call.billable_units, was.amount + call.amount
        )
    return days


def spend(priced: Iterable[PricedCall]) -> dict[SpendKey, int]:
    """What was billed, per consumer x api key (None: by JWT) x month x currency."""
    spent: dict[SpendKey, int] = {}
    for call in priced:
        if call.amount:
            r = call.record
            key = (r.consumer_id, r.api_key_id, r.month, call.currency)
            spent[key] = spent.get(key, 0) + call.amount
    return spent
