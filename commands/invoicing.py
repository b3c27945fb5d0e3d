"""Period close: each consumer's priced usage of a month becomes one invoice per currency
with a line per model, pushed to the payment provider; a paid invoice posts each line to
the publishers' ledger.

Closing is safe to run again, and runs again until every invoice is pushed: drafting
finds the invoice a first close made (its id is derived from consumer, period and
currency), pushing uses the invoice id as the provider's idempotency key, and a consumer
with no customer at the provider yet (no card saved) keeps a draft for the next run.
"""

from __future__ import annotations

import contextlib
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from commands.billing_ports import BillingUsageStore
from commands.conflicts import CommandHandlers
from commands.event_store import EventStore
from commands.metering_ports import month_of
from commands.payment_ports import (
    ChargeRecorder,
    InvoiceLine,
    PaymentGateway,
    ProviderUnavailable,
)
from domain.clock import Clock
from domain.errors import Conflict, InvalidInput, NotFound
from domain.invoice import Invoice, InvoiceStatus
from domain.model import Model
from domain.pricing import Money

log = logging.getLogger("aimarket.billing")


class PeriodOpen(Conflict):
    code = "period_open"


class InvalidPeriod(InvalidInput):
    code = "invalid_period"


@dataclass(frozen=True)
class UsageLine:
    """A consumer's priced usage of one model over a period (after free tiers and plans)."""

    consumer_id: UUID
    model_id: UUID
    publisher_id: UUID
    model_name: str
    units: int
    amount: Money


class PeriodUsage(Protocol):
    def billed_lines(self, period: str) -> list[UsageLine]:
        """Every consumer and model with billable usage in the period (YYYY-MM)."""
        ...


class UsageLines:
    """Period usage from the priced billing usage, each line named by its model."""

    def __init__(self, store: BillingUsageStore, app: EventStore) -> None:
        self.store, self.app = store, app

    def billed_lines(self, period: str) -> list[UsageLine]:
        models: dict[UUID, Model] = {}
        lines = []
        for month in self.store.month_totals(period):
            if month.amount <= 0:
                continue
            model = models.get(month.model_id) or self.app.load(Model, month.model_id)
            models[month.model_id] = model
            lines.append(
                UsageLine(
                    month.consumer_id,
                    month.model_id,
                    model.publisher_id,
                    model.name,
                    month.billable_units,
                    Money(month.amount, month.currency),
                )
            )
        return lines


class Customers(Protocol):
    def customer_id(self, user_id: UUID) -> str | None:
        """The user's customer id at the payment provider, None before their first card."""
        ...


@dataclass(frozen=True)
class ClosedPeriod:
    period: str
    invoices: int  # drafted by this run or an earlier one
    pushed: int  # pushed by this run
    waiting: int  # still drafts: no customer yet, or the provider was away


class InvoiceCommands(CommandHandlers):
    def __init__(
        self,
        app: EventStore,
        usage: PeriodUsage,
        customers: Customers,
        gateway: PaymentGateway,
        ledger: ChargeRecorder,
        clock: Clock,
    ) -> None:
        self.app, self.usage, self.customers = app, usage, customers
        self.gateway, self.ledger, self.clock = gateway, ledger, clock

    def close_period(self, period: str) -> ClosedPeriod:
        check_period(period)
        if period >= month_of(self.clock.now()):
            raise PeriodOpen(f"{period} has not ended yet; close a past month")
        invoices = [
            self._drafted(period, *key, lines)
            for key, lines in _grouped(self.usage.billed_lines(period))
        ]
        pushed = sum(self._push(invoice) for invoice in invoices)
        waiting = sum(1 for i in invoices if self.load(i).status == InvoiceStatus.DRAFT)
        return ClosedPeriod(period, len(invoices), pushed, waiting)

    def record_paid(self, invoice_id: UUID, at: datetime) -> None:
        """The provider collected it: post each line to the publishers' ledger, once."""
        invoice = self.load(invoice_id)
        if invoice.mark_paid(at):
            self.app.write(invoice)
        for line in invoice.lines:  # idempotent by transaction id: posted again is nothing
            self.ledger.record_charge(
                f"invoice:{invoice.id}:{line['model_id']}",
                UUID(line["publisher_id"]),
                UUID(line["model_id"]),
                Money(int(line["amount"]), invoice.currency),
                at,
            )

    def load(self, invoice_id: UUID) -> Invoice:
        return self.app.load(Invoice, invoice_id)

    def _drafted(
        self, period: str, consumer_id: UUID, currency: str, lines: list[UsageLine]
    ) -> UUID:
        invoice_id = Invoice.create_id(consumer_id, period, currency)
        try:
            self.app.load(Invoice, invoice_id)
            return invoice_id  # drafted by an earlier close: its lines stand
        except NotFound:
            pass
        invoice = Invoice(
            consumer_id=consumer_id,
            period=period,
            currency=currency,
            lines=[_line_of(line) for line in lines],
            drafted_at=self.clock.now().isoformat(),
        )
        with contextlib.suppress(IntegrityError):  # another close drafted it just now
            self.app.write(invoice)
        return invoice_id

    def _push(self, invoice_id: UUID) -> bool:
        invoice = self.load(invoice_id)
        customer = self.customers.customer_id(invoice.consumer_id)
        if invoice.status != InvoiceStatus.DRAFT or customer is None:
            return False
        lines = [
            InvoiceLine(
                line["description"],
                Money(int(line["amount"]), invoice.currency),
                {"invoice_id": str(invoice.id), "model_id": line["model_id"]},
            )
            for line in invoice.lines
        ]
        try:
            pushed = self.gateway.push_invoice(
                customer, lines, idempotency_key=f"invoice:{invoice.id}"
            )
        except ProviderUnavailable:
            log.warning("invoice %s not pushed: the provider is away; next close", invoice.id)
            return False
        invoice.mark_pushed(pushed.id)
        self.app.write(invoice)
        if pushed.status == "paid":  # collected at once (else the provider's webhook says)
            self.record_paid(invoice.id, self.clock.now())
        return True


def check_period(period: str) -> str:
    if len(period) != 7 or period[4] != "-" or not (period[:4] + period[5:]).isdigit():
        raise InvalidPeriod("a period is a month written YYYY-MM")
    if not 1 <= int(period[5:]) <= 12:
        raise InvalidPeriod("a period is a month written YYYY-MM")
    return period


def _grouped(
    lines: Iterable[UsageLine],
) -> list[tuple[tuple[UUID, str], list[UsageLine]]]:
    """Billable lines by (consumer, currency): one invoice each; nothing for zero."""
    groups: dict[tuple[UUID, str], list[UsageLine]] = defaultdict(list)
    for line in lines:
        if line.amount.amount > 0:
            groups[(line.consumer_id, line.amount.currency)].append(line)
    return sorted(groups.items(), key=lambda item: (str(item[0][0]), item[0][1]))


def _line_of(line: UsageLine) -> dict[str, object]:
    return {
        "model_id": str(line.model_id),
        "publisher_id": str(line.publisher_id),
        "description": f"{line.model_name}: {line.units} requests",
        "units": line.units,
        "amount": line.amount.amount,
    }
