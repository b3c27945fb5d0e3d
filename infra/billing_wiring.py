"""How billing is put together for a profile: one payment gateway for the whole process,
the publishers' ledger every charge is booked into, payment methods and the purchase saga,
the provider's webhooks and subscriptions, priced usage and budgets, and invoices.

The embedded profile runs the saga, the usage pricer and the month-end closer in the API
process; the cluster runs `aimarket worker purchases`, `aimarket worker metering` and
`aimarket worker billing` instead."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from psycopg_pool import ConnectionPool

from commands.billing_ports import BillingUsageStore
from commands.event_store import EventStore
from commands.invoicing import InvoiceCommands, UsageLines
from commands.ledger import LedgerCommands
from commands.models import ModelCommands
from commands.payment_methods import PaymentMethods
from commands.payment_ports import PaymentGateway
from commands.plan_allowances import SubscribedAllowances
from domain.clock import Clock
from infra.billing_usage.wiring import UsageBilling, billing, billing_store
from infra.ledger_wiring import ledger_commands
from infra.payments.purchases_wiring import PurchaseSide, purchase_side
from infra.payments.wiring import Payments, build_payments, payment_gateway
from infra.resilience import BreakerRegistry
from infra.settings import Settings
from infra.stores import open_marketplace, postgres_pool
from projections.ports import ReadStore
from queries.earnings import EarningsQueries
from queries.invoices import InvoiceQueries
from workers.period_closer import PeriodCloser


class Runner(Protocol):
    def start(self) -> None: ...

    def stop(self) -> None: ...


@dataclass
class BillingSide:
    gateway: PaymentGateway
    ledger: LedgerCommands
    earnings: EarningsQueries
    payments: Payments  # the provider's webhooks, subscriptions
    purchases: PurchaseSide  # payment methods, purchases, the saga
    usage: UsageBilling  # priced usage and budgets
    invoices: InvoiceCommands
    invoice_queries: InvoiceQueries
    closer: PeriodCloser | None  # embedded: closes each month in process

    def holders(self) -> tuple[Any, ...]:
        """Where the container finds billing's services by type."""
        return (self, self.payments, self.purchases, self.usage)

    def runners(self) -> list[Runner]:
        """What the embedded profile runs in the API's process."""
        found: list[Runner | None] = [self.purchases.runner, self.usage.pricer, self.closer]
        return [runner for runner in found if runner is not None]


def invoice_commands(
    app: EventStore,
    store: BillingUsageStore,
    gateway: PaymentGateway,
    ledger: LedgerCommands,
    clock: Clock,
) -> InvoiceCommands:
    lines, customers = UsageLines(store, app), PaymentMethods(app, gateway)
    return InvoiceCommands(app, lines, customers, gateway, ledger, clock)


def standalone_invoices(
    settings: Settings, clock: Clock
) -> tuple[InvoiceCommands, Callable[[], None]]:
    """Period close for `aimarket billing close-period` and `aimarket worker billing`;
    with the function that closes what it opened."""
    closers: list[Callable[[], object]] = []
    app = open_marketplace(settings)
    closers.append(app.close)
    pool = postgres_pool(settings, closers) if settings.profile == "cluster" else None
    gateway = payment_gateway(settings, clock)
    ledger = ledger_commands(settings, app, clock, gateway)
    store = billing_store(settings, pool, closers)
    invoices = invoice_commands(app, store, gateway, ledger, clock)

    def close() -> None:
        for done in reversed(closers):
            done()

    return invoices, close


def billing_side(
    settings: Settings,
    app: EventStore,
    models: ModelCommands,
    store: ReadStore,
    pool: ConnectionPool | None,
    clock: Clock,
    closers: list[Callable[[], object]],
    breakers: BreakerRegistry | None = None,
) -> BillingSide:
    gateway = payment_gateway(settings, clock, breakers)
    ledger = ledger_commands(settings, app, clock, gateway)
    payments = build_payments(settings, app, store, clock, gateway, ledger)
    purchases = purchase_side(settings, app, models, store, clock, gateway, ledger)
    usage = billing(settings, app, pool, clock, closers, SubscribedAllowances(app))
    invoices = invoice_commands(app, usage.store, gateway, ledger, clock)
    payments.provider_events.usage_invoice_paid = invoices.record_paid
    closer = None
    if settings.profile == "embedded":
        closer = PeriodCloser(
            invoices, clock, settings.billing_close_grace_s, settings.billing_close_check_s
        )
    return BillingSide(
        gateway,
        ledger,
        EarningsQueries(app),
        payments,
        purchases,
        usage,
        invoices,
        InvoiceQueries(store),
        closer,
    )
