"""A publisher's earnings and payouts, read from their ledger by id (no read model).

The caller is the publisher: there is no way to name another publisher's ledger.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from domain.errors import InvalidInput, NotFound
from domain.ledger import PublisherLedger
from domain.ledger_rules import Account

PERIOD_LENGTH = len("YYYY-MM")


class InvalidPeriod(InvalidInput):
    code = "invalid_period"


class LedgerSource(Protocol):
    """The read the earnings need of the event store (the write side's gateway has it)."""

    def load_any(self, aggregate_id: UUID, version: int | None = None) -> Any: ...


@dataclass(frozen=True)
class EarningsRow:
    model_id: UUID
    period: str
    currency: str
    charges: int
    gross: int  # charged to customers
    refunded: int
    platform_fee: int  # net of refunds
    publisher_share: int  # net of refunds: negative in a period of refunds only


@dataclass(frozen=True)
class Balance:
    currency: str
    payable: int  # owed to the publisher, to be paid out
    in_transit: int  # payouts started and not yet confirmed
    paid_out: int
    receivable: int  # owed by the publisher: refunds after a payout


@dataclass(frozen=True)
class Earnings:
    items: list[EarningsRow]
    balances: list[Balance]


@dataclass(frozen=True)
class PayoutView:
    id: str
    currency: str
    amount: int
    status: str
    started_at: datetime
    ended_at: datetime | None
    transfer_id: str | None
    failure: str | None


class EarningsQueries:
    def __init__(self, app: LedgerSource) -> None:
        self._app = app

    def earnings(self, publisher_id: UUID, period: str | None = None) -> Earnings:
        """Per model per period (YYYY-MM, UTC), newest period first; the balances now."""
        if period is not None:
            _check_period(period)
        ledger = self._ledger(publisher_id)
        if ledger is None:
            return Earnings([], [])
        rows = [
            _row(r) for r in ledger.earnings.values() if period is None or r["period"] == period
        ]
        rows.sort(key=lambda r: (r.period, str(r.model_id), r.currency), reverse=True)
        return Earnings(rows, [_balance(ledger, c) for c in ledger.currencies()])

    def payouts(self, publisher_id: UUID) -> list[PayoutView]:
        """Newest first."""
        ledger = self._ledger(publisher_id)
        if ledger is None:
            return []
        views = [PayoutView(id=pid, **p) for pid, p in ledger.payouts.items()]
        return views[::-1]

    def _ledger(self, publisher_id: UUID) -> PublisherLedger | None:
        try:
            found = self._app.load_any(PublisherLedger.create_id(publisher_id))
        except NotFound:
            return None
        return found if isinstance(found, PublisherLedger) else None


def _row(raw: dict[str, Any]) -> EarningsRow:
    return EarningsRow(
        model_id=raw["model_id"], period=raw["period"], currency=raw["currency"],
        charges=raw["charges"], gross=raw["gross"], refunded=raw["refunded"],
        platform_fee=raw["fee"], publisher_share=raw["share"],
    )  # fmt: skip


def _balance(ledger: PublisherLedger, currency: str) -> Balance:
    return Balance(
        currency=currency,
        payable=ledger.balance(currency, Account.PUBLISHER_PAYABLE),
        in_transit=ledger.balance(currency, Account.PAYOUTS_IN_TRANSIT),
        paid_out=ledger.balance(currency, Account.PAID_OUT),
        receivable=ledger.balance(currency, Account.PUBLISHER_RECEIVABLE),
    )


def _check_period(period: str) -> None:
    year, dash, month = period.partition("-")
    if not (
        len(period) == PERIOD_LENGTH and dash and period.isascii() and year.isdigit()
        and month.isdigit()
        and 1 <= int(month) <= 12
    ):  # fmt: skip
        raise InvalidPeriod("period is a month as YYYY-MM")
