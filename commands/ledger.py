"""The publishers' ledger's write side: book charges and refunds, pay publishers out.

Internal (no HTTP route): the purchase saga and the provider's webhooks book charges and
refunds, `aimarket billing payout` pays out. Each charge and refund is booked once by its
transaction id, so a redelivery is harmless.

A payout is recorded (`PayoutStarted`, the money set aside) before the transfer, and the
transfer's idempotency key is that payout's id: after a crash between the transfer and
the save, the next run finds the started payout and repeats the transfer with the same
key, which the provider answers with the first transfer. A publisher is never paid twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from eventsourcing.persistence import IntegrityError
from eventsourcing.utils import get_topic

from commands.conflicts import CommandHandlers, ConcurrentUpdate
from commands.event_store import EventStore
from commands.payment_ports import PaymentGateway, ProviderUnavailable
from domain.clock import Clock
from domain.errors import DomainError, InvalidInput, NotFound, PaymentRequired
from domain.ledger import PublisherLedger
from domain.ledger_rules import Account, ChargeNotRecorded, check_fee_bps
from domain.pricing import Money
from domain.user import User

PAYABLE = Account.PUBLISHER_PAYABLE


@dataclass(frozen=True)
class PayoutDone:
    payout_id: str
    amount: Money
    status: str  # completed or failed
    transfer_id: str | None


@dataclass(frozen=True)
class PayoutRun:
    publisher_id: UUID
    payouts: list[PayoutDone]
    error: str | None = None  # the error code that stopped this publisher's payout


class LedgerCommands(CommandHandlers):
    def __init__(
        self, app: EventStore, gateway: PaymentGateway, clock: Clock, fee_bps: int
    ) -> None:
        check_fee_bps(fee_bps)
        self.app = app
        self.gateway = gateway
        self.clock = clock
        self.fee_bps = fee_bps

    def record_charge(
        self, transaction_id: str, publisher_id: UUID, model_id: UUID, gross: Money, at: datetime
    ) -> None:
        """Book a customer's payment: fee to the platform, the rest owed to the publisher;
        nothing when this transaction was booked already (the `ChargeRecorder` port)."""
        _check_transaction_id(transaction_id)
        ledger = self._load_or_open(publisher_id)
        if ledger.record_charge(
            transaction_id, model_id, gross.amount, gross.currency, self.fee_bps, at
        ):
            self._write(ledger)

    def record_refund(
        self,
        transaction_id: str,
        charge_transaction_id: str,
        publisher_id: UUID,
        amount: Money,
        at: datetime,
    ) -> None:
        """Reverse part or all of a booked charge; nothing when booked already."""
        _check_transaction_id(transaction_id)
        try:
            ledger = self._load(publisher_id)
        except NotFound:
            raise ChargeNotRecorded(f"no charge {charge_transaction_id} booked") from None
        if ledger.record_refund(
            transaction_id, charge_transaction_id, amount.amount, amount.currency, at
        ):
            self._write(ledger)

    def payout(self, publisher_id: UUID, minimum: Money | None = None) -> list[PayoutDone]:
        """Finish any payout a crash left started, then transfer each currency's payable
        balance (with `minimum`: only that currency, and only from that amount)."""
        try:
            ledger = self._load(publisher_id)
        except NotFound:
            return []
        floor = 0 if minimum is None else minimum.amount
        currencies = ledger.currencies() if minimum is None else [minimum.currency]
        due = [c for c in currencies if ledger.balance(c, PAYABLE) >= max(floor, 1)]
        if not due and not ledger.pending_payouts():
            return []
        account = self._connected_account(ledger)  # before any money is set aside
        done = [self._transfer(ledger, account, pid) for pid, _ in ledger.pending_payouts()]
        for currency in due:
            payout_id = ledger.start_payout(currency, floor, self.clock.now())
            if payout_id is not None:
                self.app.write(ledger)  # recorded before the transfer: its idempotency key
                done.append(self._transfer(ledger, account, payout_id))
        return done

    def payout_all(self, minimum: Money | None = None) -> list[PayoutRun]:
        """Pay out every publisher who has a ledger; one publisher's error (a provider
        down, a missing account) is reported and does not stop the others."""
        runs = []
        for publisher_id in self.publishers():
            try:
                runs.append(PayoutRun(publisher_id, self.payout(publisher_id, minimum)))
            except DomainError as error:
                runs.append(PayoutRun(publisher_id, [], error.code))
        return runs

    def publishers(self) -> list[UUID]:
        """Every publisher with a ledger, from the ledgers' opening events."""
        topics = [get_topic(PublisherLedger.Opened)]
        found: list[UUID] = []
        start: int | None = None
        while page := self.app.recorder.select_notifications(start, 500, topics=topics):
            opened = (self.app.mapper.to_domain_event(n) for n in page)
            found.extend(e.publisher_id for e in opened if isinstance(e, PublisherLedger.Opened))
            start = page[-1].id + 1
        return found

    def _connected_account(self, ledger: PublisherLedger) -> str:
        """The publisher's connected account, created once (the key makes a repeat after a
        crash answer the same account)."""
        if ledger.connected_account is None:
            user = self.app.load(User, ledger.publisher_id)
            account = self.gateway.create_connected_account(
                user.id, user.email, idempotency_key=f"connect-{ledger.publisher_id}"
            )
            ledger.connect_account(account)
            self.app.write(ledger)
        assert ledger.connected_account is not None
        return ledger.connected_account

    def _transfer(self, ledger: PublisherLedger, account: str, payout_id: str) -> PayoutDone:
        payout = ledger.payouts[payout_id]
        amount = Money(payout["amount"], payout["currency"])
        metadata = {"payout_id": payout_id, "publisher_id": str(ledger.publisher_id)}
        try:
            transfer = self.gateway.transfer(
                account, amount, metadata, idempotency_key=f"payout-{payout_id}"
            )
        except ProviderUnavailable:
            raise  # may have happened: left started, the next run repeats it with its key
        except (InvalidInput, NotFound, PaymentRequired) as refused:  # not made: money back
            ledger.fail_payout(payout_id, refused.code, self.clock.now())
            self.app.write(ledger)
            return PayoutDone(payout_id, amount, "failed", None)
        ledger.complete_payout(payout_id, transfer.id, self.clock.now())
        self.app.write(ledger)
        return PayoutDone(payout_id, amount, "completed", transfer.id)

    def _load(self, publisher_id: UUID) -> PublisherLedger:
        return self.app.load(PublisherLedger, PublisherLedger.create_id(publisher_id))

    def _load_or_open(self, publisher_id: UUID) -> PublisherLedger:
        try:
            return self._load(publisher_id)
        except NotFound:
            return PublisherLedger(publisher_id=publisher_id)

    def _write(self, ledger: PublisherLedger) -> None:
        try:
            self.app.write(ledger)
        except IntegrityError:  # another booking opened this ledger meanwhile: run again
            raise ConcurrentUpdate("this ledger was opened meanwhile") from None


def _check_transaction_id(transaction_id: str) -> None:
    if not transaction_id or len(transaction_id) > 255:
        raise InvalidInput("a transaction id is 1 to 255 characters")
