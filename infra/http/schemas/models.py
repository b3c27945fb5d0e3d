"""Bodies of the model registry and catalogue routes. Unknown request fields are refused.

The schema checks types (integers stay integers: 2.5 cents is refused, not rounded); the
domain checks the rules (slug shape, known frameworks, one currency per price list). Money
is integer minor units."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, Field, StrictBool, StrictInt

from infra.http.params import NextCursor
from infra.http.schemas.common import Strict, Written
from projections.cursor import MAX_INT64


class PlanIn(Strict):
    name: str = Field(min_length=1, max_length=40)
    monthly_price: StrictInt = Field(
        ge=0, le=MAX_INT64, description="Minor units, e.g. 1900 for 19.00"
    )
    included_requests: StrictInt = Field(ge=0, le=MAX_INT64)


class PricingIn(Strict):
    currency: str = Field(min_length=3, max_length=3, examples=["EUR"])
    free_requests_per_month: StrictInt = Field(default=0, ge=0, le=MAX_INT64)
    price_per_request: StrictInt = Field(default=0, ge=0, le=MAX_INT64, description="Minor units")
    purchase_price: StrictInt | None = Field(
        default=None, ge=0, le=MAX_INT64, description="Minor units"
    )
    plans: list[PlanIn] = Field(default_factory=list, max_length=10)


class ModelDetails(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=50_000, description="Markdown")
    framework: str | None = Field(default=None, max_length=40, examples=["onnx"])
    task: str | None = Field(default=None, max_length=40, examples=["image-classification"])
    tags: list[str] | None = Field(default=None, max_length=20)
    license: str | None = Field(default=None, max_length=40, examples=["apache-2.0"])
    visibility: str | None = Field(default=None, examples=["public", "unlisted", "private"])
    gated: StrictBool | None = None
    access_questions: list[str] | None = Field(default=None, max_length=10)
    response_cache: str | None = Field(
        default=None,
        examples=["off", "billed", "free"],
        description="Keep responses for equal inputs (deterministic models only): off, or on "
        "with cache hits billed like calls, or on with hits free",
    )

    def given(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True, exclude={"slug", "pricing"})


class ModelCreate(ModelDetails):
    slug: str = Field(min_length=1, max_length=64, examples=["resnet-50"])
    name: str = Field(min_length=1, max_length=100)
    pricing: PricingIn | None = None


class ModelUpdate(ModelDetails):
    pass


class Deprecation(Strict):
    reason: str = Field(default="", max_length=500)


class DefaultVersion(Strict):
    version: str = Field(min_length=1, max_length=64, examples=["1.2.0"])


class PricingScheduled(Written):
    effective_from: str = Field(description="When the new prices apply (start of a period)")


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


class DeploymentPublic(BaseModel):
    status: str = Field(description="deploying, deployed, failed or undeployed")
    error: str | None = Field(
        default=None, description="The inference engine's words, when it refused the version"
    )


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
    deployment: DeploymentPublic | None = Field(
        default=None, description="Where a published version stands on the inference engine"
    )


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
    response_cache: str
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
