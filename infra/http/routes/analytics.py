"""Analytics for consumers, publishers and the platform: JSON, or CSV with
`Accept: text/csv` (the `days` rows, same columns and numbers)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel

from domain.principal import Principal
from infra.billing_usage.wiring import UsageBilling
from infra.http.deps import Admin, Use, require_scope
from infra.http.routes.billing_usage import _budget
from infra.http.schemas import analytics as schemas
from queries.analytics import AnalyticsQueries, Report, Row
from queries.analytics_window import Window, window

router = APIRouter(prefix="/v1/analytics", tags=["analytics"])
Reads = Annotated[AnalyticsQueries, Use(AnalyticsQueries)]
Bills = Annotated[UsageBilling, Use(UsageBilling)]
BillingReader = Annotated[Principal, Depends(require_scope("billing:read"))]
First = Annotated[date | None, Query(alias="from", description="first day, in `tz`")]
Last = Annotated[date | None, Query(alias="to", description="last day (inclusive), in `tz`")]
Tz = Annotated[str, Query(max_length=64, description="IANA time zone the days are in")]
CSV: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}}, "description": "JSON, or CSV of `days`"}
}


@router.get("/usage", response_model=schemas.ConsumerAnalytics, responses=CSV)
def usage(
    request: Request, caller: BillingReader, reads: Reads, bills: Bills,
    first: First = None, last: Last = None, tz: Tz = "UTC",
) -> Any:  # fmt: skip
    """Your calls, errors, mean latency and spend per model per day (default: the last 30
    days), and your budget this month. At most 366 days."""
    found = reads.consumer(caller.user_id, window(first, last, tz, bills.clock.now()))
    days = [schemas.ConsumerDay.model_validate(_fields(r)) for r in found.rows]
    body = schemas.ConsumerAnalytics(
        **_window(found.window), days=days, budget=_budget(bills, caller.user_id)
    )
    return _answer(request, body, days, schemas.ConsumerDay)


@router.get("/publisher", response_model=schemas.PublisherAnalytics, responses=CSV)
def publisher(
    request: Request, caller: BillingReader, reads: Reads, bills: Bills,
    first: First = None, last: Last = None, tz: Tz = "UTC",
) -> Any:  # fmt: skip
    """Your models' calls, unique consumers, revenue and earnings per day, and the rating
    trend of their reviews."""
    found = reads.publisher(caller.user_id, window(first, last, tz, bills.clock.now()))
    days = [schemas.PublisherDay.model_validate(_fields(r)) for r in found.rows]
    ratings = [schemas.RatingDay.model_validate(r, from_attributes=True) for r in found.ratings]
    body = schemas.PublisherAnalytics(
        **_window(found.window), unique_consumers=found.active_users, days=days, ratings=ratings
    )
    return _answer(request, body, days, schemas.PublisherDay)


@router.get("/platform", response_model=schemas.PlatformAnalytics, responses=CSV)
def platform(
    request: Request, admin: Admin, reads: Reads, bills: Bills,
    first: First = None, last: Last = None, tz: Tz = "UTC",
) -> Any:  # fmt: skip
    """The platform's revenue (fees), active users, error rates per day and the top models
    (admin)."""
    found: Report = reads.platform(window(first, last, tz, bills.clock.now()))
    days = [schemas.PlatformDay.model_validate(_fields(r)) for r in found.rows]
    top = [schemas.TopModel.model_validate(_fields(r)) for r in found.top_models]
    body = schemas.PlatformAnalytics(
        **_window(found.window), active_users=found.active_users, days=days, top_models=top
    )
    return _answer(request, body, days, schemas.PlatformDay)


def _fields(row: Row) -> dict[str, Any]:
    names = ("mean_latency_ms", "error_rate", "revenue", "unique_consumers")
    computed = {name: getattr(row, name) for name in names}
    return {**vars(row), **computed, "active_users": row.unique_consumers}


def _window(found: Window) -> dict[str, Any]:
    return {"first_day": found.first, "last_day": found.last, "tz": found.zone.key}


def _answer(
    request: Request, body: BaseModel, rows: Sequence[BaseModel], kind: type[BaseModel]
) -> Any:
    if "text/csv" not in request.headers.get("accept", ""):
        return body
    return Response(_csv(rows, kind), media_type="text/csv")


def _csv(rows: Sequence[BaseModel], kind: type[BaseModel]) -> str:
    """A header row of the columns, then a line per row (stdlib csv)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(list(kind.model_fields))
    for row in rows:
        writer.writerow(list(row.model_dump(mode="json").values()))
    return out.getvalue()
