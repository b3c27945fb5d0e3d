"""Payouts through the commands and the simulated gateway, under random charges, refunds,
redeliveries and provider faults (a timeout after the transfer, a 5xx before it): the
provider never sends more than the ledger says was paid or is on its way, and once the
provider answers again one more run settles every payout, each transferred once."""

from __future__ import annotations

import contextlib
from collections import defaultdict
from uuid import uuid4

from hypothesis import given, settings
from hypothesis import strategies as st

from commands.event_store import EventStore
from commands.ledger import LedgerCommands
from commands.payment_ports import ProviderUnavailable
from domain.ledger import PublisherLedger
from domain.ledger_rules import Account
from domain.pricing import Money
from domain.user import User
from infra.payments.simulated import SimulatedGateway
from tests.support import MovableClock

STEP = st.sampled_from(["charge", "refund", "payout", "timeout_after_success", "transient_5xx"])
MODEL = uuid4()


class World:
    def __init__(self) -> None:
        self.app = EventStore(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
        self.clock = MovableClock()
        self.gateway = SimulatedGateway(self.clock)
        self.ledger = LedgerCommands(self.app, self.gateway, self.clock, 2000)
        user = User(email=f"{uuid4().hex}@example.com", password_hash="x", role="publisher")
        self.app.save(user)
        self.publisher = user.id
        self.charges: list[tuple[str, Money]] = []

    def books(self) -> PublisherLedger:
        return self.app.load(PublisherLedger, PublisherLedger.create_id(self.publisher))

    def sent(self) -> dict[str, int]:
        totals: dict[str, int] = defaultdict(int)
        for transfer in self.gateway.transfers.values():
            totals[transfer.amount.currency] += transfer.amount.amount
        return totals

    def charge(self, data: st.DataObject) -> None:
        if self.charges and data.draw(st.booleans()):  # a redelivery
            tx, gross = data.draw(st.sampled_from(self.charges))
        else:
            amount = data.draw(st.integers(1, 10_000))
            tx, gross = (
                f"pi_{len(self.charges)}",
                Money(amount, data.draw(st.sampled_from(["USD", "EUR"]))),
            )
            self.charges.append((tx, gross))
        self.ledger.record_charge(tx, self.publisher, MODEL, gross, self.clock.now())

    def refund(self, data: st.DataObject) -> None:
        tx, gross = data.draw(st.sampled_from(self.charges))
        left = gross.amount - self.books().charges[tx]["refunded"]
        if left:
            amount = Money(data.draw(st.integers(1, left)), gross.currency)
            self.ledger.record_refund(f"re_{uuid4()}", tx, self.publisher, amount, self.clock.now())

    def payout(self, fault: str | None) -> None:
        if fault:
            self.gateway.faults.inject("transfer", fault)
        with contextlib.suppress(ProviderUnavailable):
            self.ledger.payout(self.publisher)


@settings(max_examples=40, deadline=None)
@given(data=st.data(), steps=st.lists(STEP, min_size=1, max_size=30))
def test_the_provider_sends_each_payout_once(data: st.DataObject, steps: list[str]) -> None:
    world = World()
    for step in steps:
        if step == "charge" or not world.charges:
            world.charge(data)
        elif step == "refund":
            world.refund(data)
        else:
            world.payout(None if step == "payout" else step)
        books = world.books()
        for currency, amount in world.sent().items():
            assert amount <= books.balance(currency, Account.PAID_OUT) + books.balance(
                currency, Account.PAYOUTS_IN_TRANSIT
            )
    world.gateway.faults.planned.clear()
    world.ledger.payout(world.publisher)
    books = world.books()
    assert not books.pending_payouts()
    for currency in books.currencies():
        assert world.sent().get(currency, 0) == books.balance(currency, Account.PAID_OUT)
    assert len(world.gateway.transfers) == len(books.payouts)
