"""The one entitlement rule: who may call, and which of a call's items are billed."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.entitlement import AccessRequired, Caller, MonthlyCapReached, entitle
from domain.errors import PaymentRequired

FREE = {"currency": "USD", "price_per_request": 0, "purchase_price": None, "plans": []}
PAID = {"currency": "EUR", "free_requests_per_month": 3, "price_per_request": 7, "plans": []}
MONTH_LEFT = 3600


def caller(**changes: object) -> Caller:
    base: dict[str, object] = {
        "is_owner": False, "is_admin": False, "granted": False, "monthly_call_cap": None,
        "has_paid_access": False, "calls_this_month": 0,
    }  # fmt: skip
    return Caller(**{**base, **changes})  # type: ignore[arg-type]


@pytest.mark.parametrize("who", [{"is_owner": True}, {"is_admin": True}])
def test_owners_and_admins_call_anything_for_nothing(who: dict[str, bool]) -> None:
    paid = entitle(caller(**who, calls_this_month=10**6), PAID, True, 5, MONTH_LEFT)
    assert (paid.billable_units, paid.amount) == (0, 0)


def test_a_gated_model_needs_a_grant_and_keeps_to_its_cap() -> None:
    with pytest.raises(AccessRequired):
        entitle(caller(), FREE, True, 1, MONTH_LEFT)
    assert entitle(caller(granted=True, monthly_call_cap=2, calls_this_month=1), FREE, True, 1,
                   MONTH_LEFT).amount == 0  # fmt: skip
    with pytest.raises(MonthlyCapReached) as capped:
        entitle(caller(granted=True, monthly_call_cap=2, calls_this_month=2), FREE, True, 1,
                MONTH_LEFT)  # fmt: skip
    assert capped.value.retry_after_s == MONTH_LEFT
    with pytest.raises(MonthlyCapReached):  # a batch that would cross the cap
        entitle(caller(granted=True, monthly_call_cap=2), FREE, True, 3, MONTH_LEFT)


def test_past_the_free_tier_a_call_needs_paid_access_and_then_is_billed() -> None:
    assert entitle(caller(calls_this_month=2), PAID, False, 1, MONTH_LEFT).amount == 0
    with pytest.raises(PaymentRequired):
        entitle(caller(calls_this_month=3), PAID, False, 1, MONTH_LEFT)
    billed = entitle(caller(calls_this_month=3, has_paid_access=True), PAID, False, 1, MONTH_LEFT)
    assert (billed.billable_units, billed.amount, billed.currency) == (1, 7, "EUR")


@given(used=st.integers(0, 10), items=st.integers(1, 10))
def test_a_batch_pays_only_for_the_items_past_the_free_tier(used: int, items: int) -> None:
    got = entitle(caller(calls_this_month=used, has_paid_access=True), PAID, False, items,
                  MONTH_LEFT)  # fmt: skip
    free_left = max(0, 3 - used)
    assert got.billable_units == max(0, items - free_left)
    assert got.amount == got.billable_units * 7
