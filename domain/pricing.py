"""Money and a model's price list. Amounts are integer minor units (cents) with a currency.

A price list is stored in events as plain dicts (`as_dict`), so an event never holds
an object the transcoder does not know; `Pricing.from_dict` validates on the way in.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from domain.errors import InvalidInput

_CURRENCY = re.compile(r"[A-Z]{3}")
MAX_AMOUNT = 100_000_000_00  # one hundred million in major units: a typo guard, not a policy
MAX_PLANS = 10


class InvalidPricing(InvalidInput):
    code = "invalid_pricing"


@dataclass(frozen=True)
class Money:
    amount: int  # minor units
    currency: str  # ISO 4217, upper case

    @classmethod
    def of(cls, amount: object, currency: object) -> Money:
        # bool is an int in Python; a price of True cents is a client bug.
        if not isinstance(amount, int) or isinstance(amount, bool):
            raise InvalidPricing("amounts are integers in minor units, e.g. 250 for 2.50")
        if not 0 <= amount <= MAX_AMOUNT:
            raise InvalidPricing(f"amounts must be between 0 and {MAX_AMOUNT} minor units")
        if not isinstance(currency, str) or not _CURRENCY.fullmatch(currency):
            raise InvalidPricing("currency must be an ISO 4217 code in capitals, e.g. EUR")
        return cls(amount, currency)

    def as_dict(self) -> dict[str, Any]:
        return {"amount": self.amount, "currency": self.currency}


@dataclass(frozen=True)
class Plan:
    name: str
    monthly_price: Money
    included_requests: int


@dataclass(frozen=True)
class Pricing:
    """Free tier, pay per request, optional one-off purchase, optional subscription plans.

    One currency per price list, so "cheapest" and price filters compare like with like."""

    currency: str
    free_requests_per_month: int = 0
    price_per_request: int = 0  # minor units; 0 with no plans and no purchase = free
    purchase_price: int | None = None
    plans: tuple[Plan, ...] = ()

    @property
    def is_free(self) -> bool:
        return is_free(self.as_dict())

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Pricing:
        currency = raw.get("currency")
        Money.of(0, currency)  # validates the code
        assert isinstance(currency, str)
        free = raw.get("free_requests_per_month", 0)
        if not isinstance(free, int) or isinstance(free, bool) or not 0 <= free <= 10**9:
            raise InvalidPricing("free_requests_per_month must be an integer from 0 to 10^9")
        per_request = Money.of(raw.get("price_per_request", 0), currency).amount
        purchase = raw.get("purchase_price")
        plans_raw = raw.get("plans") or []
        if not isinstance(plans_raw, list) or len(plans_raw) > MAX_PLANS:
            raise InvalidPricing(f"plans must be a list of at most {MAX_PLANS}")
        plans = tuple(_plan(p, currency) for p in plans_raw)
        if len({p.name for p in plans}) != len(plans):
            raise InvalidPricing("plan names must be unique")
        return cls(
            currency=currency,
            free_requests_per_month=free,
            price_per_request=per_request,
            purchase_price=None if purchase is None else Money.of(purchase, currency).amount,
            plans=plans,
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "currency": self.currency,
            "free_requests_per_month": self.free_requests_per_month,
            "price_per_request": self.price_per_request,
            "purchase_price": self.purchase_price,
            "plans": [
                {
                    "name": p.name,
                    "monthly_price": p.monthly_price.amount,
                    "included_requests": p.included_requests,
                }
                for p in self.plans
            ],
        }


FREE = Pricing(currency="USD")


def _plan(raw: Any, currency: str) -> Plan:
    if not isinstance(raw, dict):
        raise InvalidPricing("each plan is an object with name, monthly_price, included_requests")
    name = raw.get("name")
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= 40:
        raise InvalidPricing("a plan name is 1 to 40 characters")
    included = raw.get("included_requests", 0)
    if not isinstance(included, int) or isinstance(included, bool) or not 0 <= included <= 10**10:
        raise InvalidPricing("included_requests must be an integer from 0 to 10^10")
    return Plan(name.strip(), Money.of(raw.get("monthly_price"), currency), included)


def price_in_force(schedule: Iterable[tuple[str, dict[str, Any]]], when: str) -> dict[str, Any]:
    """The price list in force at `when` (ISO text): the last entry of the schedule (oldest
    first, as (effective from, price list)) that took effect by then; free before any."""
    current = FREE.as_dict()
    for effective_from, pricing in schedule:
        if effective_from <= when:
            current = pricing
    return current


def is_free(pricing: dict[str, Any]) -> bool:
    """A price list (as stored) that asks for nothing: no per-request price, purchase or plan."""
    return (
        not pricing.get("price_per_request")
        and pricing.get("purchase_price") is None
        and not pricing.get("plans")
    )


def next_period_start(at: datetime) -> datetime:
    """Billing periods are calendar months in UTC: a price change applies from the next one."""
    at = at.astimezone(UTC)
    if at.month == 12:
        return datetime(at.year + 1, 1, 1, tzinfo=UTC)
    return datetime(at.year, at.month + 1, 1, tzinfo=UTC)


def add_month(at: datetime) -> datetime:
    """The same day and time a month later, on the month's last day when it has no such
    day (Jan 31 -> Feb 28): how a monthly subscription's period ends."""
    year, month = (at.year + 1, 1) if at.month == 12 else (at.year, at.month + 1)
    return at.replace(year=year, month=month, day=min(at.day, calendar.monthrange(year, month)[1]))
