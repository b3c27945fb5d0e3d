"""Billing usage: records priced per billing period into the billing usage store, the
budget thresholds that pricing may reach, and the caller's usage report."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from uuid import UUID

from commands.billing_ports import BilledDay, BillingUsageStore, PlanAllowances
from commands.billing_pricing import MonthKey, PricedCall, Schedule, price_calls
from commands.conflicts import CommandHandlers
from commands.event_store import EventStore
from commands.metering_ports import UsageRecord
from domain.budget import ACCOUNT, Budget, scope_of
from domain.errors import InvalidInput, NotFound

log = logging.getLogger("aimarket.billing")
MAX_REPORT_DAYS = 366


class UsagePricer:
    """The pricing rule (commands/billing_pricing.py) with the model's price schedule and
    the consumer's plan at hand: what the stores call inside their transaction."""

    def __init__(self, schedule_of: Callable[[UUID], Schedule], plans: PlanAllowances) -> None:
        self.schedule_of, self.plans = schedule_of, plans

    def __call__(self, records: Sequence[UsageRecord], counted: dict[MonthKey, int]
                 ) -> list[PricedCall]:  # fmt: skip
        return price_calls(records, counted, self.schedule_of, self.plans.included_requests)[0]


class BudgetAlerts(CommandHandlers):
    """After a batch is priced: each threshold (50/80/100 %) of a cap newly reached this
    month is recorded once on the Budget (`ThresholdNotified`); the notifier
    (commands/notifier.py) sends its email, in-app entry and webhook from that event."""

    def __init__(self, app: EventStore, store: BillingUsageStore) -> None:
        self.app, self.store = app, store

    def after_priced(self, priced: Sequence[PricedCall]) -> int:
        """Thresholds newly reached in this batch."""
        scopes = {(c.record.consumer_id, c.record.api_key_id) for c in priced if c.amount}
        reached = 0
        for consumer_id in sorted({c for c, _ in scopes}):
            keys = {k for c, k in scopes if c == consumer_id}
            months = {c.record.month for c in priced if c.record.consumer_id == consumer_id}
            for month in sorted(months):
                reached += self.notify(consumer_id, month, sorted({ACCOUNT} | {scope_of(k)
                                       for k in keys if k is not None}))  # fmt: skip
        return reached

    def notify(self, consumer_id: UUID, month: str, scopes: list[str]) -> int:
        try:
            budget = self.app.load(Budget, Budget.create_id(consumer_id))
        except NotFound:
            return 0
        reached = 0
        for scope in scopes:
            cap = budget.cap_of(scope)
            if cap is None:
                continue
            key = None if scope == ACCOUNT else UUID(scope)
            spent = self.store.spent(consumer_id, key, month, cap.currency)
            for percent in budget.to_notify(scope, month, spent):
                budget.note_threshold(scope, month, percent)
                reached += 1
        if reached:
            self.app.write(budget)  # a worker that lost the race records nothing (retried)
        return reached


@dataclass(frozen=True)
class UsageReport:
    first_day: str
    last_day: str
    days: list[BilledDay]
    totals: dict[str, int]  # currency -> amount


def usage_report(store: BillingUsageStore, consumer_id: UUID, first: date, last: date
                 ) -> UsageReport:  # fmt: skip
    if last < first:
        raise InvalidInput("`to` is before `from`", code="invalid_period")
    if (last - first).days >= MAX_REPORT_DAYS:
        raise InvalidInput(f"a report covers at most {MAX_REPORT_DAYS} days", code="invalid_period")
    days = store.days(consumer_id, first.isoformat(), last.isoformat())
    totals: dict[str, int] = {}
    for day in days:
        totals[day.currency] = totals.get(day.currency, 0) + day.amount
    return UsageReport(first.isoformat(), last.isoformat(), days, totals)
