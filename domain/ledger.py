"""A publisher's ledger: double-entry books of what their models earned and was paid out.

One aggregate per publisher, addressed by a uuid5 of the publisher's id, so it is read by
id (no read model). Every transaction is balanced postings in one currency (see
domain/ledger_rules.py for the accounts). The ids of the charges, refunds and payouts it
has applied are kept on it, so a charge or refund recorded again (the saga and the
provider's webhooks redeliver) changes nothing.

A refund that finds the publisher's payable balance too small (they were paid out
meanwhile) reverses what it can from the payable and books the rest as a receivable
from the publisher; later earnings (and a failed payout's return) pay it off first.
So no balance ever goes negative.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain import ledger_rules as rules
from domain.errors import Conflict, NotFound
from domain.ledger_rules import Account, period_of

LEDGER_NAMESPACE = uuid5(NAMESPACE_URL, "https://aimarket.dev/ns/publisher-ledger")
STARTED, COMPLETED, FAILED = "started", "completed", "failed"


class PayoutNotFound(NotFound):
    code = "payout_not_found"


class PayoutNotPending(Conflict):
    code = "payout_not_pending"


class PublisherLedger(Aggregate):
    @staticmethod
    def create_id(publisher_id: UUID) -> UUID:
        return uuid5(LEDGER_NAMESPACE, str(publisher_id))

    class Opened(Aggregate.Created):
        publisher_id: UUID

    @event(Opened)
    def __init__(self, publisher_id: UUID) -> None:
        self.publisher_id = publisher_id
        self.connected_account: str | None = None
        self.raw: dict[str, dict[str, int]] = {}  # currency -> account -> debits - credits
        self.charges: dict[str, dict[str, Any]] = {}  # transaction id -> the charge
        self.refunds: dict[str, str] = {}  # refund's transaction id -> the charge's
        self.payouts: dict[str, dict[str, Any]] = {}  # payout id -> the payout, oldest first
        self.earnings: dict[str, dict[str, Any]] = {}  # "model/period/currency" -> figures

    def balance(self, currency: str, account: Account) -> int:
        return rules.natural_balance(account, self.raw.get(currency, {}).get(account, 0))

    def currencies(self) -> list[str]:
        return sorted(self.raw)

    # Charges and refunds

    def record_charge(
        self, transaction_id: str, model_id: UUID, gross: int, currency: str, fee_bps: int,
        at: datetime,
    ) -> bool:  # fmt: skip
        """Book a customer's payment for one of the publisher's models; False when this
        transaction was booked already."""
        if transaction_id in self.charges:
            return False
        cut = rules.split(gross, fee_bps)
        owed = min(self.balance(currency, Account.PUBLISHER_RECEIVABLE), cut.share)
        entries = {
            Account.CUSTOMER_PAYMENTS: gross,
            Account.PLATFORM_FEES: -cut.fee,
            Account.PUBLISHER_PAYABLE: -(cut.share - owed),
            Account.PUBLISHER_RECEIVABLE: -owed,  # earnings pay off what they owe first
        }
        self._charge_recorded(
            transaction_id, model_id, currency, gross, cut.fee, _entries(entries), at
        )
        return True

    @event("ChargeRecorded")
    def _charge_recorded(
        self, transaction_id: str, model_id: UUID, currency: str, gross: int, fee: int,
        entries: dict[str, int], at: datetime,
    ) -> None:  # fmt: skip
        self.charges[transaction_id] = {
            "model_id": model_id, "currency": currency, "gross": gross, "fee": fee,
            "refunded": 0,
        }  # fmt: skip
        self._post(currency, entries)
        self._earn(model_id, period_of(at), currency, charges=1, gross=gross, fee=fee,
                   share=gross - fee)  # fmt: skip

    def record_refund(
        self, transaction_id: str, charge_transaction_id: str, amount: int, currency: str,
        at: datetime,
    ) -> bool:  # fmt: skip
        """Reverse part or all of a charge, proportionally; False when booked already."""
        if transaction_id in self.refunds:
            return False
        charge = self.charges.get(charge_transaction_id)
        if charge is None:
            raise rules.ChargeNotRecorded(f"no charge {charge_transaction_id} in this ledger")
        if charge["currency"] != currency:
            raise rules.LedgerCurrencyMismatch(f"the charge was in {charge['currency']}")
        back = rules.reversal(charge["gross"], charge["fee"], charge["refunded"], amount)
        from_payable = min(self.balance(currency, Account.PUBLISHER_PAYABLE), back.share)
        entries = {
            Account.CUSTOMER_PAYMENTS: -amount,
            Account.PLATFORM_FEES: back.fee,
            Account.PUBLISHER_PAYABLE: from_payable,
            Account.PUBLISHER_RECEIVABLE: back.share - from_payable,  # paid out already
        }
        self._refund_recorded(
            transaction_id, charge_transaction_id, amount, back.fee, _entries(entries), at
        )
        return True

    @event("RefundRecorded")
    def _refund_recorded(
        self, transaction_id: str, charge_transaction_id: str, amount: int, fee: int,
        entries: dict[str, int], at: datetime,
    ) -> None:  # fmt: skip
        charge = self.charges[charge_transaction_id]
        charge["refunded"] += amount
        self.refunds[transaction_id] = charge_transaction_id
        self._post(charge["currency"], entries)
        self._earn(charge["model_id"], period_of(at), charge["currency"], refunded=amount,
                   fee=-fee, share=-(amount - fee))  # fmt: skip

    # Payouts: started (money set aside) before the transfer, then completed or failed

    @event("AccountConnected")
    def connect_account(self, account_id: str) -> None:
        self.connected_account = account_id

    def pending_payouts(self) -> list[tuple[str, dict[str, Any]]]:
        return [(pid, p) for pid, p in self.payouts.items() if p["status"] == STARTED]

    def start_payout(self, currency: str, minimum: int, at: datetime) -> str | None:
        """Set the payable balance aside for a transfer, under a payout id recorded before
        the transfer is made (its idempotency key); None when under `minimum` or zero."""
        amount = self.balance(currency, Account.PUBLISHER_PAYABLE)
        if amount <= 0 or amount < minimum:
            return None
        payout_id = str(uuid5(self.id, f"payout/{len(self.payouts) + 1}"))
        entries = {Account.PUBLISHER_PAYABLE: amount, Account.PAYOUTS_IN_TRANSIT: -amount}
        self._payout_started(payout_id, currency, amount, _entries(entries), at)
        return payout_id

    @event("PayoutStarted")
    def _payout_started(
        self, payout_id: str, currency: str, amount: int, entries: dict[str, int], at: datetime
    ) -> None:
        self.payouts[payout_id] = {
            "currency": currency, "amount": amount, "status": STARTED, "started_at": at,
            "ended_at": None, "transfer_id": None, "failure": None,
        }  # fmt: skip
        self._post(currency, entries)

    def complete_payout(self, payout_id: str, transfer_id: str, at: datetime) -> None:
        payout = self._pending(payout_id)
        amount = payout["amount"]
        entries = {Account.PAYOUTS_IN_TRANSIT: amount, Account.PAID_OUT: -amount}
        self._payout_ended(payout_id, COMPLETED, transfer_id, None, _entries(entries), at)

    def fail_payout(self, payout_id: str, failure: str, at: datetime) -> None:
        """The transfer was refused: the money goes back, paying off a receivable first."""
        payout = self._pending(payout_id)
        amount = payout["amount"]
        owed = min(self.balance(payout["currency"], Account.PUBLISHER_RECEIVABLE), amount)
        entries = {
            Account.PAYOUTS_IN_TRANSIT: amount,
            Account.PUBLISHER_RECEIVABLE: -owed,
            Account.PUBLISHER_PAYABLE: -(amount - owed),
        }
        self._payout_ended(payout_id, FAILED, None, failure, _entries(entries), at)

    @event("PayoutEnded")
    def _payout_ended(
        self, payout_id: str, status: str, transfer_id: str | None, failure: str | None,
        entries: dict[str, int], at: datetime,
    ) -> None:  # fmt: skip
        payout = self.payouts[payout_id]
        payout.update(status=status, transfer_id=transfer_id, failure=failure, ended_at=at)
        self._post(payout["currency"], entries)

    def _pending(self, payout_id: str) -> dict[str, Any]:
        payout = self.payouts.get(payout_id)
        if payout is None:
            raise PayoutNotFound(f"no payout {payout_id}")
        if payout["status"] != STARTED:
            raise PayoutNotPending(f"payout {payout_id} is {payout['status']}")
        return payout

    def _post(self, currency: str, entries: dict[str, int]) -> None:
        rules.check_balanced(entries)
        books = self.raw.setdefault(currency, {})
        for account, amount in entries.items():
            books[account] = books.get(account, 0) + amount

    def _earn(self, model_id: UUID, period: str, currency: str, **figures: int) -> None:
        key = f"{model_id}/{period}/{currency}"
        row = self.earnings.setdefault(
            key, {"model_id": model_id, "period": period, "currency": currency, "charges": 0,
                  "gross": 0, "refunded": 0, "fee": 0, "share": 0},
        )  # fmt: skip
        for name, value in figures.items():
            row[name] += value


def _entries(entries: dict[Account, int]) -> dict[str, int]:
    """Plain strings in the event, and no zero entries."""
    return {str(account): amount for account, amount in entries.items() if amount}
