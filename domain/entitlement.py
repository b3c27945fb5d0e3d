"""Who may call a model, and whether this call is billed: one rule, asked by the sync call,
the batch call and the async job alike.

Owners and admins always; gated models need a live grant, within its monthly cap; free
models cost nothing; a paid model's free tier is free; past it, a purchase or an active
subscription (billing) pays per request, and without one the call is refused (402).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from domain.errors import Forbidden, PaymentRequired, RateLimited
from domain.pricing import is_free


class AccessRequired(Forbidden):
    code = "access_required"


class MonthlyCapReached(RateLimited):
    code = "monthly_cap_reached"


@dataclass(frozen=True)
class Caller:
    is_owner: bool
    is_admin: bool
    granted: bool  # holds a live access grant to this (gated) model
    monthly_call_cap: int | None  # the grant's cap, if any
    has_paid_access: bool  # a completed purchase or an active subscription
    calls_this_month: int  # calls that counted, before this one


@dataclass(frozen=True)
class Entitlement:
    billable_units: int  # of the call's items, those past the free tier (the rest are free)
    price_per_request: int  # minor units, for each billable unit
    currency: str

    @property
    def amount(self) -> int:
        return self.billable_units * self.price_per_request


def entitle(
    caller: Caller, pricing: dict[str, Any], gated: bool, items: int, seconds_to_month_end: int
) -> Entitlement:
    """May `caller` make a call of `items` now? Raises the reason it may not."""
    currency = str(pricing.get("currency", "USD"))
    if caller.is_owner or caller.is_admin:
        return Entitlement(0, 0, currency)
    if gated:
        if not caller.granted:
            raise AccessRequired("this model is gated: request access and wait for approval")
        cap = caller.monthly_call_cap
        if cap is not None and caller.calls_this_month + items > cap:
            raise MonthlyCapReached(
                f"your access to this model allows {cap} calls a month; "
                f"{caller.calls_this_month} are used",
                retry_after_s=max(1, seconds_to_month_end),
            )
    if is_free(pricing):
        return Entitlement(0, 0, currency)
    free_left = max(0, int(pricing.get("free_requests_per_month") or 0) - caller.calls_this_month)
    billable = max(0, items - free_left)
    if billable and not caller.has_paid_access:
        raise PaymentRequired(
            "the free requests of this model for this month are used: buy it or subscribe"
        )
    return Entitlement(billable, int(pricing.get("price_per_request") or 0), currency)
