"""Schemas of the usage report and budgets."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from pydantic import BaseModel, Field


class MoneyBody(BaseModel):
    amount: int = Field(ge=0, le=100_000_000_00, description="minor units, e.g. 250 for 2.50")
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217, e.g. USD")


class UsageDay(BaseModel):
    model_id: UUID
    day: date
    calls: int
    billable_units: int
    cost: MoneyBody


class UsageReportPublic(BaseModel):
    first_day: date = Field(description="the period's first day (`from`)")
    last_day: date = Field(description="its last day, inclusive (`to`)")
    days: list[UsageDay]
    totals: list[MoneyBody] = Field(description="per currency")


class BudgetUpdate(BaseModel):
    monthly_cap: MoneyBody
    api_key_id: UUID | None = Field(default=None, description="one of your keys; none: account")


class BudgetCap(BaseModel):
    api_key_id: UUID | None
    monthly_cap: MoneyBody
    spent_this_month: MoneyBody


class BudgetPublic(BaseModel):
    month: str = Field(description="YYYY-MM, UTC")
    caps: list[BudgetCap]
