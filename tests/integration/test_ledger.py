"""The publishers' ledger's commands on both event stores (SQLite; the real PostgreSQL),
paying out through the simulated gateway: bookings once per transaction, refunds after a
payout, and payouts that a crash or a timeout never makes twice."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from uuid import UUID, uuid4

import pytest

from commands.event_store import EventStore
from commands.ledger import LedgerCommands
from commands.payment_ports import ProviderUnavailable, Transfer
from domain.errors import NotFound
from domain.ledger import PublisherLedger
from domain.ledger_rules import Account, ChargeNotRecorded, RefundExceedsCharge
from domain.pricing import Money
from domain.user import User
from infra.payments.simulated import SimulatedGateway
from infra.settings import Settings
from infra.stores import open_marketplace
from tests.support import MovableClock, unique_email


class CrashingGateway(SimulatedGateway):
    """The provider makes the transfer, then the process dies before the save."""

    crash_next_transfer = False

    def transfer(
        self, account_id: str, amount: Money, metadata: Mapping[str, str], *, idempotency_key: str
    ) -> Transfer:
        made = super().transfer(account_id, amount, metadata, idempotency_key=idempotency_key)
        if self.crash_next_transfer:
            self.crash_next_transfer = False
            raise SystemExit("killed after the transfer, before the save")
        return made


@dataclass
class Rig:
    app: EventStore
    clock: MovableClock
    gateway: CrashingGateway

    def ledger(self, fee_bps: int = 2000) -> LedgerCommands:
        return LedgerCommands(self.app, self.gateway, self.clock, fee_bps)

    def publisher(self) -> UUID:
        user = User(email=unique_email("publisher"), password_hash="x", role="publisher")
        self.app.save(user)
        return user.id

    def books(self, publisher_id: UUID) -> PublisherLedger:
        return self.app.load(PublisherLedger, PublisherLedger.create_id(publisher_id))


@pytest.fixture(params=["embedded", "cluster"])
def rig(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Rig]:
    if request.param == "cluster":
        settings: Settings = request.getfixturevalue("cluster_settings")
    else:
        settings = Settings(profile="embedded", data_dir=tmp_path)
    app = open_marketplace(settings)
    clock = MovableClock()
    yield Rig(app, clock, CrashingGateway(clock))
    app.close()


def usd(amount: int) -> Money:
    return Money(amount, "USD")


def test_a_charge_is_split_eighty_twenty_and_booked_once(rig: Rig) -> None:
    ledger, publisher, model = rig.ledger(), rig.publisher(), uuid4()
    ledger.record_charge("pi_1", publisher, model, usd(1999), rig.clock.now())
    version = rig.books(publisher).version
    ledger.record_charge("pi_1", publisher, model, usd(1999), rig.clock.now())  # redelivered
    books = rig.books(publisher)
    assert books.version == version
    assert books.balance("USD", Account.PUBLISHER_PAYABLE) == 1600  # 399.8 of fee: 399
    assert books.balance("USD", Account.PLATFORM_FEES) == 399
    assert books.balance("USD", Account.CUSTOMER_PAYMENTS) == 1999


def test_the_fee_is_a_setting(rig: Rig) -> None:
    ledger, publisher = rig.ledger(fee_bps=1500), rig.publisher()
    ledger.record_charge("pi_1", publisher, uuid4(), usd(1000), rig.clock.now())
    assert rig.books(publisher).balance("USD", Account.PLATFORM_FEES) == 150


def test_refunds_reverse_proportionally_and_never_beyond_the_charge(rig: Rig) -> None:
    ledger, publisher = rig.ledger(), rig.publisher()
    ledger.record_charge("pi_1", publisher, uuid4(), usd(1000), rig.clock.now())
    ledger.record_refund("re_1", "pi_1", publisher, usd(250), rig.clock.now())
    ledger.record_refund("re_1", "pi_1", publisher, usd(250), rig.clock.now())  # redelivered
    books = rig.books(publisher)
    assert books.balance("USD", Account.PUBLISHER_PAYABLE) == 600
    assert books.balance("USD", Account.PLATFORM_FEES) == 150
    with pytest.raises(RefundExceedsCharge):
        ledger.record_refund("re_2", "pi_1", publisher, usd(751), rig.clock.now())
    with pytest.raises(ChargeNotRecorded):
        ledger.record_refund("re_3", "pi_unknown", publisher, usd(1), rig.clock.now())
    with pytest.raises(ChargeNotRecorded):
        ledger.record_refund("re_4", "pi_1", uuid4(), usd(1), rig.clock.now())


def test_a_payout_transfers_the_payable_balance_once(rig: Rig) -> None:
    ledger, publisher = rig.ledger(), rig.publisher()
    ledger.record_charge("pi_1", publisher, uuid4(), usd(1000), rig.clock.now())
    ledger.record_charge("pi_2", publisher, uuid4(), Money(500, "EUR"), rig.clock.now())
    done = ledger.payout(publisher)
    assert sorted((d.amount.amount, d.amount.currency, d.status) for d in done) == [
        (400, "EUR", "completed"),
        (800, "USD", "completed"),
    ]
    assert ledger.payout(publisher) == []  # nothing left to pay
    assert len(rig.gateway.transfers) == 2
    assert len(rig.gateway.accounts) == 1  # the connected account, made once
    books = rig.books(publisher)
    assert books.balance("USD", Account.PAID_OUT) == 800
    assert books.balance("USD", Account.PUBLISHER_PAYABLE) == 0


def test_a_minimum_pays_only_its_currency_from_that_amount(rig: Rig) -> None:
    ledger, publisher = rig.ledger(), rig.publisher()
    ledger.record_charge("pi_1", publisher, uuid4(), usd(1000), rig.clock.now())
    ledger.record_charge("pi_2", publisher, uuid4(), Money(500, "EUR"), rig.clock.now())
    assert ledger.payout(publisher, usd(801)) == []
    assert [d.amount for d in ledger.payout(publisher, usd(800))] == [usd(800)]
    assert rig.books(publisher).balance("EUR", Account.PUBLISHER_PAYABLE) == 400


def test_a_crash_after_the_transfer_never_pays_twice(rig: Rig) -> None:
    ledger, publisher = rig.ledger(), rig.publisher()
    ledger.record_charge("pi_1", publisher, uuid4(), usd(1000), rig.clock.now())
    rig.gateway.crash_next_transfer = True
    with pytest.raises(SystemExit):
        ledger.payout(publisher)
    assert len(rig.gateway.transfers) == 1
    assert rig.books(publisher).balance("USD", Account.PAYOUTS_IN_TRANSIT) == 800
    done = rig.ledger().payout(publisher)  # the next run, in a new process
    assert [(d.status, d.amount) for d in done] == [("completed", usd(800))]
    assert len(rig.gateway.transfers) == 1
    assert done[0].transfer_id == next(iter(rig.gateway.transfers))
    assert rig.books(publisher).balance("USD", Account.PAID_OUT) == 800


def test_a_timeout_after_the_transfer_is_finished_by_the_next_run(rig: Rig) -> None:
    ledger, publisher = rig.ledger(), rig.publisher()
    ledger.record_charge("pi_1", publisher, uuid4(), usd(1000), rig.clock.now())
    ledger.payout(publisher)  # connects the account; pays 800
    ledger.record_charge("pi_2", publisher, uuid4(), usd(500), rig.clock.now())
    rig.gateway.faults.inject("transfer", "timeout_after_success")
    with pytest.raises(ProviderUnavailable):
        ledger.payout(publisher)
    ledger.record_charge("pi_3", publisher, uuid4(), usd(100), rig.clock.now())
    done = ledger.payout(publisher)
    assert [d.amount for d in done] == [usd(400), usd(80)]  # the started one, then the new
    assert sorted(t.amount.amount for t in rig.gateway.transfers.values()) == [80, 400, 800]


def test_a_refused_transfer_gives_the_money_back(rig: Rig) -> None:
    ledger, publisher = rig.ledger(), rig.publisher()
    ledger.record_charge("pi_1", publisher, uuid4(), usd(1000), rig.clock.now())
    ledger.payout(publisher)
    ledger.record_charge("pi_2", publisher, uuid4(), usd(1000), rig.clock.now())
    # A provider that does not know the account: the transfer is refused, not made.
    forgetful = LedgerCommands(rig.app, SimulatedGateway(rig.clock), rig.clock, 2000)
    assert [d.status for d in forgetful.payout(publisher)] == ["failed"]
    books = rig.books(publisher)
    assert books.balance("USD", Account.PUBLISHER_PAYABLE) == 800
    assert books.balance("USD", Account.PAYOUTS_IN_TRANSIT) == 0
    assert [p["failure"] for p in books.payouts.values()] == [None, "unknown_at_provider"]


def test_a_refund_after_the_payout_is_owed_back_from_later_earnings(rig: Rig) -> None:
    ledger, publisher, model = rig.ledger(), rig.publisher(), uuid4()
    ledger.record_charge("pi_1", publisher, model, usd(1000), rig.clock.now())
    ledger.payout(publisher)
    rig.clock.advance(timedelta(days=40).total_seconds())
    ledger.record_refund("re_1", "pi_1", publisher, usd(1000), rig.clock.now())
    books = rig.books(publisher)
    assert books.balance("USD", Account.PUBLISHER_RECEIVABLE) == 800
    assert books.balance("USD", Account.PUBLISHER_PAYABLE) == 0
    ledger.record_charge("pi_2", publisher, model, usd(1500), rig.clock.now())
    books = rig.books(publisher)
    assert books.balance("USD", Account.PUBLISHER_RECEIVABLE) == 0
    assert books.balance("USD", Account.PUBLISHER_PAYABLE) == 400  # 1200 less the 800 owed
    assert [d.amount for d in ledger.payout(publisher)] == [usd(400)]


def test_payout_all_pays_every_publisher_and_reports_who_could_not_be(rig: Rig) -> None:
    ledger = rig.ledger()
    paid, unknown = rig.publisher(), uuid4()  # no account for `unknown`: no email to connect
    ledger.record_charge(f"pi_{uuid4()}", paid, uuid4(), usd(100), rig.clock.now())
    ledger.record_charge(f"pi_{uuid4()}", unknown, uuid4(), usd(100), rig.clock.now())
    runs = {run.publisher_id: run for run in ledger.payout_all()}
    assert [d.amount for d in runs[paid].payouts] == [usd(80)]
    assert runs[unknown].error == "not_found" and runs[unknown].payouts == []


def test_two_first_charges_at_once_are_both_booked(rig: Rig) -> None:
    publisher = rig.publisher()
    barrier = threading.Barrier(2)

    def book(tx: str) -> None:
        barrier.wait()
        rig.ledger().record_charge(tx, publisher, uuid4(), usd(100), rig.clock.now())

    threads = [threading.Thread(target=book, args=(f"pi_{n}",)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert rig.books(publisher).balance("USD", Account.CUSTOMER_PAYMENTS) == 200


def test_a_busy_ledger_loads_from_its_snapshot_with_the_same_books(rig: Rig) -> None:
    ledger, publisher = rig.ledger(), rig.publisher()
    ledger.record_charge("pi_0", publisher, uuid4(), usd(1000), rig.clock.now())
    ledger.payout(publisher)
    for n in range(1, 105):
        ledger.record_charge(f"pi_{n}", publisher, uuid4(), usd(100), rig.clock.now())
    ledger.record_refund("re_1", "pi_0", publisher, usd(1000), rig.clock.now())
    ledger_id = PublisherLedger.create_id(publisher)
    assert rig.app.snapshots is not None and list(rig.app.snapshots.get(ledger_id))
    books = rig.books(publisher)
    assert books.balance("USD", Account.PUBLISHER_PAYABLE) == 104 * 80 - 800
    assert books.balance("USD", Account.PAID_OUT) == 800
    assert len(books.charges) == 105 and books.refunds == {"re_1": "pi_0"}


def test_a_publisher_that_cannot_be_connected_keeps_their_balance(rig: Rig) -> None:
    ledger, unknown = rig.ledger(), uuid4()  # no account: no email to connect with
    ledger.record_charge("pi_1", unknown, uuid4(), usd(100), rig.clock.now())
    with pytest.raises(NotFound):
        ledger.payout(unknown)
    books = rig.books(unknown)
    assert books.balance("USD", Account.PUBLISHER_PAYABLE) == 80
    assert books.payouts == {} and rig.gateway.accounts == {}


def test_nothing_to_pay_connects_no_account(rig: Rig) -> None:
    ledger, publisher = rig.ledger(), rig.publisher()
    ledger.record_charge("pi_1", publisher, uuid4(), usd(1000), rig.clock.now())
    ledger.record_refund("re_1", "pi_1", publisher, usd(1000), rig.clock.now())
    assert ledger.payout(publisher) == []
    assert rig.gateway.accounts == {}
