"""The caller's metered usage with its cost, and monthly budgets (caps on spend)."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query

from commands.billing_usage import usage_report
from commands.metering_ports import month_of
from domain.budget import ACCOUNT
from domain.pricing import Money
from domain.principal import Principal
from infra.billing_usage.wiring import UsageBilling
from infra.http.deps import CurrentUser, Use, require_scope
from infra.http.schemas import billing_usage as schemas

router = APIRouter(prefix="/v1/billing", tags=["billing"])
Bills = Annotated[UsageBilling, Use(UsageBilling)]
billing_read = require_scope("billing:read")
BillingReader = Annotated[Principal, Depends(billing_read)]


@router.get("/usage", response_model=schemas.UsageReportPublic)
def usage(
    caller: BillingReader,
    bills: Bills,
    first: Annotated[date | None, Query(alias="from", description="YYYY-MM-DD, UTC")] = None,
    last: Annotated[date | None, Query(alias="to", description="YYYY-MM-DD, inclusive")] = None,
) -> schemas.UsageReportPublic:
    """Your metered calls per model per day with their cost, and totals per currency
    (default: this month so far)."""
    today = bills.clock.now().date()
    report = usage_report(bills.store, caller.user_id, first or today.replace(day=1), last or today)
    return schemas.UsageReportPublic(
        first_day=date.fromisoformat(report.first_day),
        last_day=date.fromisoformat(report.last_day),
        days=[
            schemas.UsageDay(
                model_id=d.model_id,
                day=date.fromisoformat(d.day),
                calls=d.calls,
                billable_units=d.billable_units,
                cost=schemas.MoneyBody(amount=d.amount, currency=d.currency),
            )
            for d in report.days
        ],
        totals=[schemas.MoneyBody(amount=a, currency=c) for c, a in sorted(report.totals.items())],
    )


def _budget(bills: UsageBilling, consumer_id: UUID) -> schemas.BudgetPublic:
    month = month_of(bills.clock.now())
    caps = []
    for scope, cap in sorted(bills.budgets.view(consumer_id).caps.items()):
        key = None if scope == ACCOUNT else UUID(scope)
        spent = bills.store.spent(consumer_id, key, month, cap.currency)
        caps.append(
            schemas.BudgetCap(
                api_key_id=key,
                monthly_cap=schemas.MoneyBody(**cap.as_dict()),
                spent_this_month=schemas.MoneyBody(amount=spent, currency=cap.currency),
            )
        )
    return schemas.BudgetPublic(month=month, caps=caps)


@router.get("/budget", response_model=schemas.BudgetPublic)
def budget(caller: BillingReader, bills: Bills) -> schemas.BudgetPublic:
    """Your monthly spending caps (the account's and your keys'), with this month's spend."""
    return _budget(bills, caller.user_id)


@router.put("/budget", response_model=schemas.BudgetPublic)
def set_budget(
    body: schemas.BudgetUpdate, caller: CurrentUser, bills: Bills
) -> schemas.BudgetPublic:
    """Set a monthly spending cap for your account or one of your keys: emails at 50, 80
    and 100 %, and calls answer 402 `budget_exhausted` once it is spent, until raised."""
    cap = Money.of(body.monthly_cap.amount, body.monthly_cap.currency)
    bills.budgets.set_cap(caller.user_id, cap, body.api_key_id)
    return _budget(bills, caller.user_id)
