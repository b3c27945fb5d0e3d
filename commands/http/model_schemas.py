"""Request bodies of the model registry's command routes. Unknown fields are refused.

The schema checks types (integers stay integers: 2.5 cents is refused, not rounded);
the domain checks the rules (slug shape, known frameworks, one currency per price list).
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, StrictBool, StrictInt

from commands.http.schemas import Strict, Written
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
