"""Budgets: set a monthly spending cap (the account's or one key's), read it, and refuse
calls once this month's spend reaches it (402 `budget_exhausted`).

The check is on every call, so it reads memory: the caps (from the Budget aggregate,
dropped from the cache when it changes) and `SpendCounter`, this month's spend per
consumer and key, seeded from the billing usage and moved on by every billed record this
process meters. Spend metered by other processes is seen once a seed expires.
"""

from __future__ import annotations

import functools
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

from anyio import to_thread

from commands.billing_ports import BillingUsageStore
from commands.cache import TtlCache
from commands.conflicts import CommandHandlers
from commands.event_store import EventStore, Written
from commands.metering_ports import UsageMeter, UsageRecord, month_of
from domain.api_key import ApiKey
from domain.budget import ACCOUNT, Budget, scope_of
from domain.errors import NotFound, PaymentRequired
from domain.pricing import Money
from domain.principal import Principal


class BudgetExhausted(PaymentRequired):
    code = "budget_exhausted"


class SpendCounter:
    """This month's billed amount per (consumer, scope, month, currency), in memory."""

    def __init__(self, store: BillingUsageStore, seed_ttl_s: float = 60.0) -> None:
        self.store, self.seed_ttl_s = store, seed_ttl_s
        self._spent: dict[tuple[UUID, str, str, str], tuple[int, float]] = {}
        self._lock = threading.Lock()

    def peek(self, consumer_id: UUID, scope: str, month: str, currency: str) -> int | None:
        with self._lock:
            known = self._spent.get((consumer_id, scope, month, currency))
        return None if known is None or known[1] <= time.monotonic() else known[0]

    def seed(self, consumer_id: UUID, scope: str, month: str, currency: str) -> int:
        key = None if scope == ACCOUNT else UUID(scope)
        spent = self.store.spent(consumer_id, key, month, currency)
        with self._lock:
            self._spent[(consumer_id, scope, month, currency)] = (
                spent, time.monotonic() + self.seed_ttl_s,
            )  # fmt: skip
        return spent

    def add(self, record: UsageRecord) -> None:
        if not record.billed:
            return
        scopes = [ACCOUNT, *([] if record.api_key_id is None else [str(record.api_key_id)])]
        with self._lock:
            for scope in scopes:
                key = (record.consumer_id, scope, record.month, record.currency)
                known = self._spent.get(key)
                if known is not None:
                    self._spent[key] = (known[0] + record.cost_amount, known[1])


class SpendingMeter:
    """The usage meter, with each record's cost also added to the spend counter."""

    def __init__(self, meter: UsageMeter, counter: SpendCounter) -> None:
        self.meter, self.counter = meter, counter

    def record(self, record: UsageRecord) -> None:
        self.meter.record(record)
        self.counter.add(record)

    def peek_calls(self, consumer_id: UUID, model_id: UUID, month: str) -> int | None:
        return self.meter.peek_calls(consumer_id, model_id, month)

    def calls_this_month(self, consumer_id: UUID, model_id: UUID, month: str) -> int:
        return self.meter.calls_this_month(consumer_id, model_id, month)


@dataclass(frozen=True)
class BudgetView:
    caps: dict[str, Money]  # scope ("" the account, else an API key id) -> cap


# A uuid5 (a SHA-1) per model call otherwise; the ids never change.
budget_id_of = functools.lru_cache(maxsize=65_536)(Budget.create_id)


class Budgets(CommandHandlers):
    def __init__(self, app: EventStore, counter: SpendCounter, cache_ttl_s: float = 30.0) -> None:
        self.app, self.counter = app, counter
        self._caps: TtlCache[UUID, BudgetView] = TtlCache(cache_ttl_s)
        app.on_changed.append(self._forget)

    def set_cap(self, consumer_id: UUID, cap: Money, api_key_id: UUID | None = None) -> Written:
        if api_key_id is not None:
            self._check_own_key(consumer_id, api_key_id)
        try:
            budget = self.app.load(Budget, Budget.create_id(consumer_id))
        except NotFound:
            budget = Budget(consumer_id)
        budget.set_cap(scope_of(api_key_id), cap.as_dict())
        return self.app.write(budget)

    def _check_own_key(self, consumer_id: UUID, api_key_id: UUID) -> None:
        try:
            key = self.app.load(ApiKey, api_key_id)
        except NotFound:
            key = None
        if key is None or key.owner_id != consumer_id:
            raise NotFound(f"no API key {api_key_id}", code="api_key_not_found")

    def view(self, consumer_id: UUID) -> BudgetView:
        budget_id = budget_id_of(consumer_id)
        known = self._caps.get(budget_id)
        if known is not None:
            return known
        try:
            budget = self.app.load(Budget, budget_id)
            caps = {s: m for s in budget.caps if (m := budget.cap_of(s)) is not None}
        except NotFound:
            caps = {}
        view = BudgetView(caps)
        self._caps.put(budget_id, view)
        return view

    async def check(self, caller: Principal, now: datetime) -> None:
        """402 `budget_exhausted` when this month's spend has reached a cap that applies."""
        view = self._caps.get(budget_id_of(caller.user_id))
        if view is None:
            view = await to_thread.run_sync(self.view, caller.user_id)
        month = month_of(now)
        for scope in (ACCOUNT, scope_of(caller.api_key_id)):
            cap = view.caps.get(scope)
            if cap is None:
                continue
            spent = self.counter.peek(caller.user_id, scope, month, cap.currency)
            if spent is None:
                spent = await to_thread.run_sync(
                    self.counter.seed, caller.user_id, scope, month, cap.currency
                )
            if spent >= cap.amount:
                what = "this key's" if scope else "your"
                raise BudgetExhausted(
                    f"{what} monthly budget of {cap.amount} {cap.currency} (minor units) is "
                    "spent: raise it with PUT /v1/billing/budget"
                )

    def _forget(self, aggregate_ids: set[UUID]) -> None:
        for aggregate_id in aggregate_ids:
            self._caps.invalidate(aggregate_id)


class BudgetCheck(Protocol):
    async def check(self, caller: Principal, now: datetime) -> None: ...
