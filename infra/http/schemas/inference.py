"""Bodies of the inference calls."""

from __future__ import annotations

from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field

from infra.http.schemas.common import Strict

OutputFormat = Literal["json", "base64"]
TENSOR_DOC = (
    "By input name: a nested list of numbers, or a raw tensor "
    "`{b64, dtype, shape}` (little-endian bytes, for large inputs)"
)


class InferRequest(Strict):
    inputs: dict[str, Any] = Field(description=TENSOR_DOC, max_length=64)
    output_format: OutputFormat = "json"


class BatchRequest(Strict):
    items: list[dict[str, Any]] = Field(
        min_length=1, max_length=1024, description="Each item's inputs, as in a single call"
    )
    output_format: OutputFormat = "json"


class CostPublic(BaseModel):
    units: int = Field(description="Billable units of this call")
    amount: int = Field(description="Minor units; 0 inside the free tier and when not billed")
    currency: str


class Timings(BaseModel):
    queue: float = Field(description="ms in the engine's queue")
    compute: float = Field(description="ms running the model")
    total: float = Field(description="ms from arrival to answer")


class InferResponse(BaseModel):
    request_id: str = Field(description="This call's id: the key of its usage record")
    model_id: UUID
    version: str
    outputs: dict[str, Any]
    timings_ms: Timings
    cost: CostPublic
    cached: bool = Field(description="Answered from the model's response cache")
    cold_start: bool = Field(description="The version had to be loaded for this call (not billed)")


class ItemError(BaseModel):
    code: str
    message: str


class BatchItemPublic(BaseModel):
    index: int
    result: InferResponse | None = None
    error: ItemError | None = None


class BatchResponse(BaseModel):
    request_id: str
    items: list[BatchItemPublic]
    cost: CostPublic = Field(description="All items together")
