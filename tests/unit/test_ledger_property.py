"""The ledger under random sequences of charges, partial and full refunds and payouts
(completed or refused), in two currencies, with redeliveries mixed in: after every step
the books balance per currency, no balance is negative, a payout never exceeds what was
earned net of refunds, and booking a transaction again changes nothing."""

from __future__ import annotations

import copy
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

from eventsourcing.domain import Aggregate
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.ledger import STARTED, PublisherLedger
from domain.ledger_rules import Account, RefundExceedsCharge, reversal, split

CURRENCIES = ("USD", "EUR")
MODELS = [uuid4() for _ in range(3)]
START = datetime(2026, 1, 15, tzinfo=UTC)
FEE_BPS = 2000


class Reference:
    """What the ledger must agree with, kept independently per currency."""

    def __init__(self) -> None:
        self.gross: dict[str, int] = defaultdict(int)
        self.refunded: dict[str, int] = defaultdict(int)
        self.net_share: dict[str, int] = defaultdict(int)
        self.charges: list[tuple[str, str, int, int]] = []  # (tx, currency, gross, fee)
        self.refunded_of: dict[str, int] = defaultdict(int)
        self.booked: list[tuple[str, tuple[Any, ...]]] = []  # what may be redelivered


def state(ledger: PublisherLedger) -> Any:
    return copy.deepcopy((ledger.raw, ledger.charges, ledger.refunds, ledger.earnings))


def check_invariants(ledger: PublisherLedger, ref: Reference) -> None:
    for currency in CURRENCIES:
        books = ledger.raw.get(currency, {})
        assert sum(books.values()) == 0, books  # debits equal credits
        balances = {a: ledger.balance(currency, a) for a in Account}
        assert all(v >= 0 for v in balances.values()), balances
        payable, owed = balances[Account.PUBLISHER_PAYABLE], balances[Account.PUBLISHER_RECEIVABLE]
        assert payable == 0 or owed == 0
        sent = balances[Account.PAID_OUT] + balances[Account.PAYOUTS_IN_TRANSIT]
        # All the publisher was owed is with them, on its way, or owed; less what they owe.
        assert sent + payable - owed == ref.net_share[currency]
        assert balances[Account.CUSTOMER_PAYMENTS] == ref.gross[currency] - ref.refunded[currency]


def charge(ledger: PublisherLedger, ref: Reference, data: st.DataObject, at: datetime) -> None:
    currency = data.draw(st.sampled_from(CURRENCIES))
    gross = data.draw(st.integers(0, 50_000))
    tx = f"ch_{len(ref.charges)}"
    args = (tx, data.draw(st.sampled_from(MODELS)), gross, currency, FEE_BPS, at)
    assert ledger.record_charge(*args)
    cut = split(gross, FEE_BPS)
    ref.charges.append((tx, currency, gross, cut.fee))
    ref.gross[currency] += gross
    ref.net_share[currency] += cut.share
    ref.booked.append(("charge", args))


def refund(ledger: PublisherLedger, ref: Reference, data: st.DataObject, at: datetime) -> None:
    if not ref.charges:
        return
    tx, currency, gross, fee = data.draw(st.sampled_from(ref.charges))
    left = gross - ref.refunded_of[tx]
    amount = data.draw(st.integers(1, left + 5) | st.just(max(left, 1)))
    args = (f"re_{len(ref.booked)}", tx, amount, currency, at)
    if amount > left:  # never more than charged: refused, and nothing changes
        before = state(ledger)
        try:
            ledger.record_refund(*args)
            raise AssertionError("a refund beyond the charge was booked")
        except RefundExceedsCharge:
            assert state(ledger) == before
        return
    back = reversal(gross, fee, ref.refunded_of[tx], amount)
    assert ledger.record_refund(*args)
    ref.refunded_of[tx] += amount
    ref.refunded[currency] += amount
    ref.net_share[currency] -= back.share
    ref.booked.append(("refund", args))


def payout(ledger: PublisherLedger, ref: Reference, data: st.DataObject, at: datetime) -> None:
    pending = ledger.pending_payouts()
    if pending and data.draw(st.booleans()):
        payout_id, _ = data.draw(st.sampled_from(pending))
        if data.draw(st.booleans()):
            ledger.complete_payout(payout_id, f"tr_{payout_id}", at)
        else:
            ledger.fail_payout(payout_id, "account_closed", at)
        return
    currency = data.draw(st.sampled_from(CURRENCIES))
    payable = ledger.balance(currency, Account.PUBLISHER_PAYABLE)
    payout_id = ledger.start_payout(currency, data.draw(st.integers(0, 10_000)), at)
    if payout_id is not None:
        assert ledger.payouts[payout_id]["amount"] == payable > 0
        paid = ledger.balance(currency, Account.PAID_OUT)
        moving = ledger.balance(currency, Account.PAYOUTS_IN_TRANSIT)
        assert paid + moving <= ref.net_share[currency]  # never more than was earned


def redeliver(ledger: PublisherLedger, ref: Reference, data: st.DataObject, at: datetime) -> None:
    if not ref.booked:
        return
    kind, args = data.draw(st.sampled_from(ref.booked))
    before = state(ledger)
    book = ledger.record_charge if kind == "charge" else ledger.record_refund
    assert book(*args) is False
    assert state(ledger) == before


STEPS = {"charge": charge, "refund": refund, "payout": payout, "redeliver": redeliver}


@settings(max_examples=200, deadline=None)
@given(data=st.data(), steps=st.lists(st.sampled_from(sorted(STEPS)), max_size=60))
def test_the_ledger_balances_and_no_balance_goes_negative(
    data: st.DataObject, steps: list[str]
) -> None:
    ledger = PublisherLedger(publisher_id=uuid4())
    ref = Reference()
    for n, step in enumerate(steps):
        STEPS[step](ledger, ref, data, START + timedelta(days=3 * n))
        check_invariants(ledger, ref)
    # The stored events alone rebuild the same books.
    replayed: Aggregate | None = None
    for stored in ledger.collect_events():
        replayed = stored.mutate(replayed)
    assert isinstance(replayed, PublisherLedger)
    assert state(replayed) == state(ledger)
    assert [p["status"] for p in replayed.payouts.values()].count(STARTED) == len(
        ledger.pending_payouts()
    )
