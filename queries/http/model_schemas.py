"""Response bodies of the catalogue's query routes. Money is integer minor units."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, Field

from projections.cursor import MAX_INT64
from queries.http.params import NextCursor

Values = Annotated[list[str], Field(default_factory=list, max_length=20)]


class ModelsQuery(BaseModel):
    """The query string of GET /v1/models. Repeat a list parameter for "any of"
    (`?task=a&task=b`); different parameters must all hold."""

    q: str = Field(
        default="",
        max_length=200,
        description="Words in name, description, "
        "tags or publisher name; a misspelt word is forgiven on OpenSearch",
    )
    task: Values
    framework: Values
    tags: Values
    publisher: Annotated[list[UUID], Field(default_factory=list, max_length=20)]
    license: Values
    currency: Values
    price: str | None = Field(default=None, description="free or paid")
    price_min: int | None = Field(
        default=None,
        ge=0,
        le=MAX_INT64,
        description="Per-request price, minor units, inclusive, in the model's own currency",
    )
    price_max: int | None = Field(default=None, ge=0, le=MAX_INT64)
    sort: str | None = Field(
        default=None,
        description="relevance (default with words in q), "
        "popular (default without), trending, recent, rating or name",
    )
    cursor: str | None = Field(
        default=None, description="`next_cursor` of the previous page; none: the first"
    )
    limit: int = Field(default=20, ge=1, le=100)
    mine: bool = Field(default=False, description="Only your own models, in any state")


class PlanPublic(BaseModel):
    name: str
    monthly_price: int = Field(description="Minor units")
    included_requests: int


class PricingPublic(BaseModel):
    currency: str
    free_requests_per_month: int
    price_per_request: int = Field(description="Minor units")
    purchase_price: int | None = Field(description="Minor units; null: not for sale outright")
    plans: list[PlanPublic]


class PendingPricing(BaseModel):
    effective_from: datetime
    pricing: PricingPublic


class PublisherPublic(BaseModel):
    id: UUID
    name: str


class RatingSummary(BaseModel):
    average: float | None = Field(description="1 to 5; null before the first rating")
    count: int


class RatingPublic(RatingSummary):
    distribution: dict[str, int] = Field(description="Ratings by stars, '1' to '5'")


class UsagePublic(BaseModel):
    invocations_7d: int
    invocations_prev_7d: int
    invocations_total: int
    consumers: int
    trending: int = Field(description="Growth of the last 7 days over the 7 before, per mille")


class VersionPublic(BaseModel):
    version: str
    status: str = Field(description="uploaded, validated, rejected or published")
    digest: str = Field(description="sha256 of the artifact")
    size: int = Field(description="Bytes")
    framework: str | None
    signature: dict[str, Any] | None = Field(description="Inputs and outputs, once validated")
    reasons: list[str] = Field(description="Why validation rejected it")
    uploaded_at: datetime
    published_at: datetime | None


class VersionsList(BaseModel):
    items: list[VersionPublic]


class ModelSummary(BaseModel):
    """A catalogue entry."""

    id: UUID
    slug: str
    name: str
    summary: str = Field(description="The description's first 280 characters")
    publisher: PublisherPublic
    task: str
    framework: str
    tags: list[str]
    license: str
    visibility: str
    gated: bool
    status: str
    default_version: str | None
    pricing: PricingPublic = Field(description="The price list in force now")
    price_kind: str = Field(description="free or paid")
    rating: RatingSummary
    invocations_7d: int
    trending: int
    published_at: datetime | None
    updated_at: datetime


class ModelHit(ModelSummary):
    score: float = Field(description="Relevance to `q`; 0 without one")
    highlights: dict[str, list[str]] = Field(
        description="By field: HTML-escaped fragments, matched words in <em>...</em>"
    )


class ModelsPage(BaseModel):
    items: list[ModelHit]
    facets: dict[str, dict[str, int]] = Field(
        description="By field (task, framework, tag, license, price_kind): value -> count. "
        "A field's counts ignore that field's own filter."
    )
    total: int
    next_cursor: NextCursor


class ModelPublic(ModelSummary):
    """A model's page."""

    description: str = Field(description="Markdown")
    access_questions: list[str]
    deprecation_reason: str | None
    versions: list[VersionPublic] = Field(
        description="Oldest first; others than the publisher see published ones only"
    )
    signature: dict[str, Any] | None = Field(description="The default version's signature")
    pending_pricing: PendingPricing | None = Field(
        description="A scheduled price change and when it applies"
    )
    rating: RatingPublic
    usage: UsagePublic
    created_at: datetime
