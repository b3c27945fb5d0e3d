"""How billing usage is put together: the profile's store, the pricer (a thread when
embedded, `aimarket worker metering`'s agent in the cluster), budgets and their emails."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from uuid import UUID

from psycopg_pool import ConnectionPool

from commands.billing_ports import BillingUsageStore, NoPlanAllowances, PlanAllowances
from commands.billing_pricing import PricedCall, Schedule
from commands.billing_usage import BudgetAlerts, UsagePricer
from commands.budgets import Budgets, SpendCounter
from commands.event_store import EventStore
from commands.inference_targets import ModelViews
from commands.metering_ports import UsageRecord
from domain.clock import Clock
from domain.errors import DomainError
from infra.billing_usage.postgres import PostgresBillingUsage
from infra.billing_usage.sqlite import SqliteBillingUsage
from infra.metrics import observe_priced
from infra.schema_lock import schema_lock
from infra.settings import Settings
from workers.billing_pricer import PricerRunner


@dataclass
class UsageBilling:
    store: BillingUsageStore
    budgets: Budgets
    pricer: PricerRunner | None  # embedded only
    clock: Clock  # "this month", for the report's default period


def billing_store(
    settings: Settings, pool: ConnectionPool | None, closers: list[Callable[[], object]]
) -> SqliteBillingUsage | PostgresBillingUsage:
    if pool is not None:
        with schema_lock(settings.database_url):
            return PostgresBillingUsage(pool)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = SqliteBillingUsage(settings.data_dir / "usage.sqlite")
    closers.append(store.close)
    return store


def usage_pricer(settings: Settings, app: EventStore, plans: PlanAllowances) -> UsagePricer:
    views = ModelViews(app, settings.inference_model_cache_ttl_s)

    def schedule_of(model_id: UUID) -> Schedule:
        try:
            return (views.cached(model_id) or views.load(model_id)).price_schedule
        except DomainError:  # a model no one can find is priced as free, not retried forever
            return ()

    return UsagePricer(schedule_of, plans)


def budgets_on(settings: Settings, app: EventStore, store: BillingUsageStore) -> Budgets:
    """The caps, and the spend counter the inference path reads them against."""
    counter = SpendCounter(store, settings.budget_spend_ttl_s)
    return Budgets(app, counter, settings.budget_cache_ttl_s)


def billing(
    settings: Settings,
    app: EventStore,
    pool: ConnectionPool | None,
    clock: Clock,
    closers: list[Callable[[], object]],
    plans: PlanAllowances | None = None,
) -> UsageBilling:
    store = billing_store(settings, pool, closers)
    budgets = budgets_on(settings, app, store)
    pricer = None
    if isinstance(store, SqliteBillingUsage):
        price = usage_pricer(settings, app, plans or NoPlanAllowances())
        pending = partial(store.price_pending, price, settings.billing_pricing_batch)
        alerts = BudgetAlerts(app, store)
        pricer = PricerRunner(pending, _observed(alerts), settings.billing_pricing_idle_s)
    return UsageBilling(store, budgets, pricer, clock)


def _observed(alerts: BudgetAlerts) -> Callable[[Sequence[PricedCall]], int]:
    def after_priced(priced: Sequence[PricedCall]) -> int:
        observe_priced(priced)
        return alerts.after_priced(priced)

    return after_priced


def usage_ingest(
    settings: Settings, app: EventStore, pool: ConnectionPool,
    plans: PlanAllowances | None = None,
) -> Callable[[list[UsageRecord]], Sequence[PricedCall]]:  # fmt: skip
    """The metering worker's step: a batch into the ledger and the billing usage, priced,
    then the budget thresholds it reaches recorded."""
    store = billing_store(settings, pool, [])
    assert isinstance(store, PostgresBillingUsage)
    price = usage_pricer(settings, app, plans or NoPlanAllowances())
    alerts = BudgetAlerts(app, store)

    def ingest(records: list[UsageRecord]) -> Sequence[PricedCall]:
        priced = store.ingest(records, price)
        observe_priced(priced)
        alerts.after_priced(priced)
        return priced

    return ingest
