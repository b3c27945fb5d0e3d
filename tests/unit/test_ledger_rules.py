"""The ledger's pure rules: the split of a charge and the reversal of a refund."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import InvalidInput
from domain.ledger_rules import (
    RefundExceedsCharge,
    UnbalancedTransaction,
    check_balanced,
    period_of,
    reversal,
    split,
)


def test_the_default_split_gives_the_platform_a_fifth() -> None:
    cut = split(1000, 2000)
    assert (cut.fee, cut.share) == (200, 800)


def test_a_fraction_of_a_cent_of_fee_goes_to_the_publisher() -> None:
    cut = split(999, 2000)  # 199.8 cents of fee
    assert (cut.fee, cut.share) == (199, 800)
    assert split(1, 2000).fee == 0


def test_the_fee_is_bounded_by_whole_and_nothing() -> None:
    assert split(1234, 0).share == 1234
    assert split(1234, 10_000).fee == 1234
    with pytest.raises(InvalidInput):
        split(100, 10_001)
    with pytest.raises(InvalidInput):
        split(100, -1)


def test_a_full_refund_reverses_exactly_the_fee_and_the_share() -> None:
    cut = split(999, 2000)
    back = reversal(999, cut.fee, 0, 999)
    assert (back.fee, back.share) == (cut.fee, cut.share)


def test_a_partial_refund_reverses_proportionally() -> None:
    back = reversal(1000, 200, 0, 250)
    assert (back.fee, back.share) == (50, 200)


def test_refunds_beyond_the_charge_are_refused() -> None:
    with pytest.raises(RefundExceedsCharge):
        reversal(1000, 200, 900, 101)
    with pytest.raises(InvalidInput):
        reversal(1000, 200, 0, 0)


@given(
    gross=st.integers(1, 10**10),
    fee_bps=st.integers(0, 10_000),
    cuts=st.lists(st.integers(1, 10**6), min_size=1, max_size=20),
)
def test_partial_refunds_add_up_to_the_charge_and_never_exceed_it(
    gross: int, fee_bps: int, cuts: list[int]
) -> None:
    cut = split(gross, fee_bps)
    assert cut.fee + cut.share == gross and 0 <= cut.fee <= gross
    refunded = fee_back = share_back = 0
    for want in cuts:
        amount = min(want, gross - refunded)
        if amount == 0:
            break
        back = reversal(gross, cut.fee, refunded, amount)
        assert back.fee >= 0 and back.share >= 0 and back.fee + back.share == amount
        refunded += amount
        fee_back, share_back = fee_back + back.fee, share_back + back.share
        assert fee_back <= cut.fee and share_back <= cut.share
    rest = gross - refunded
    if rest:
        last = reversal(gross, cut.fee, refunded, rest)
        fee_back, share_back = fee_back + last.fee, share_back + last.share
    assert (fee_back, share_back) == (cut.fee, cut.share)


def test_an_unbalanced_transaction_is_refused() -> None:
    check_balanced({"a": 5, "b": -5})
    with pytest.raises(UnbalancedTransaction):
        check_balanced({"a": 5, "b": -4})


def test_the_period_is_the_month_in_utc() -> None:
    late = datetime(2026, 3, 31, 23, 30, tzinfo=timezone(timedelta(hours=-2)))
    assert period_of(late) == "2026-04"
    assert period_of(datetime(2026, 12, 1, tzinfo=UTC)) == "2026-12"
