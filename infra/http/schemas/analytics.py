"""Schemas of the analytics reports: flat day rows (the CSV has the same columns)."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from pydantic import BaseModel, Field

from infra.http.schemas.billing_usage import BudgetPublic

LATENCY = (
    "mean_latency_ms: the mean compute time of the row's calls, errors included (the sum "
    "of their compute_ms over their count); not a percentile"
)


class ConsumerDay(BaseModel):
    day: date = Field(description="in the report's time zone")
    model_id: UUID
    currency: str
    calls: int
    errors: int = Field(description="calls that failed, timed out or found the model away")
    error_rate: float
    mean_latency_ms: float
    spend: int = Field(description="minor units, as priced for the invoice")


class PublisherDay(BaseModel):
    day: date
    model_id: UUID
    currency: str
    calls: int
    errors: int
    unique_consumers: int
    gross: int = Field(description="charged to customers (purchases, plans, paid invoices)")
    refunded: int
    revenue: int = Field(description="gross less refunds")
    platform_fee: int = Field(description="the platform's fee, net of refunds")
    earnings: int = Field(description="your share, net of refunds")


class PlatformDay(BaseModel):
    day: date
    currency: str
    calls: int
    errors: int
    error_rate: float
    active_users: int = Field(description="consumers who called a model that day")
    gross: int
    refunded: int
    revenue: int
    platform_fee: int = Field(description="the platform's revenue: fees net of refunds")


class RatingDay(BaseModel):
    day: date
    reviews: int = Field(description="visible reviews written that day")
    mean_rating: float
    mean_to_date: float = Field(description="of every visible review up to that day's end")


class TopModel(BaseModel):
    model_id: UUID
    calls: int
    errors: int
    error_rate: float
    unique_consumers: int


class Window(BaseModel):
    first_day: date = Field(description="`from`")
    last_day: date = Field(description="`to`, inclusive")
    tz: str


class ConsumerAnalytics(Window):
    latency: str = LATENCY
    days: list[ConsumerDay]
    budget: BudgetPublic


class PublisherAnalytics(Window):
    latency: str = LATENCY
    unique_consumers: int = Field(description="over the whole window")
    days: list[PublisherDay]
    ratings: list[RatingDay]


class PlatformAnalytics(Window):
    active_users: int = Field(description="consumers who called a model in the window")
    days: list[PlatformDay]
    top_models: list[TopModel]
