"""Calling a model: one call, or a batch of items in one engine request. An API key with
the `inference` scope, or a person's access token."""

from __future__ import annotations

import re
import uuid
from typing import Annotated
from uuid import UUID

import orjson
from fastapi import APIRouter, Query, Response

from commands.inference import InferenceService
from commands.inference_types import BatchItem
from infra.http.deps import Inferrer, Use
from infra.http.middleware import BodyLimit
from infra.http.schemas import inference as schemas

router = APIRouter(prefix="/v1", tags=["inference"])
Inference = Annotated[InferenceService, Use(InferenceService)]
INFER_PATH = re.compile(r"/v1/models/[^/]+/infer(/batch)?")


def inference_limits(max_bytes: int) -> list[BodyLimit]:
    """Tensors are larger than the API's other JSON bodies."""
    return [BodyLimit("POST", INFER_PATH, max_bytes)]


VersionParam = Annotated[
    str | None,
    Query(max_length=64, description="A published version; the model's default when absent"),
]


@router.post("/models/{model_id}/infer", response_model=schemas.InferResponse)
async def infer(
    model_id: UUID,
    body: schemas.InferRequest,
    caller: Inferrer,
    service: Inference,
    version: VersionParam = None,
) -> Response:
    """Call a model: outputs, the version that answered, timings and what this call cost."""
    result = await service.infer(
        caller, model_id, version, body.inputs, uuid.uuid4().hex, body.output_format
    )
    # Serialised here, not checked again against the response model: the service built
    # it, and on the hot path the check costs more than the rest of the route.
    answer = Response(orjson.dumps(result.as_json()), media_type="application/json")
    _cost_headers(answer, result.version, result.cost.units, result.cost.amount,
                  result.cost.currency)  # fmt: skip
    answer.headers["x-cached"] = "true" if result.cached else "false"
    return answer


@router.post("/models/{model_id}/infer/batch", response_model=schemas.BatchResponse)
async def infer_batch(
    model_id: UUID,
    body: schemas.BatchRequest,
    caller: Inferrer,
    service: Inference,
    response: Response,
    version: VersionParam = None,
) -> schemas.BatchResponse:
    """Call a model on several items in one engine request; an item's bad inputs fail that
    item alone. One usage record, and cost, per item."""
    request_id = uuid.uuid4().hex
    done = await service.infer_batch(
        caller, model_id, version, body.items, request_id, body.output_format
    )
    items = [_item(i, item) for i, item in enumerate(done)]
    results = [item.result for item in done if item.result is not None]
    units = sum(r.cost.units for r in results)
    amount = sum(r.cost.amount for r in results)
    currency = results[0].cost.currency if results else "USD"
    versions = {r.version for r in results}
    _cost_headers(response, versions.pop() if len(versions) == 1 else "", units, amount, currency)
    cost = schemas.CostPublic(units=units, amount=amount, currency=currency)
    return schemas.BatchResponse(request_id=request_id, items=items, cost=cost)


def _item(index: int, item: BatchItem) -> schemas.BatchItemPublic:
    if item.error is not None:
        error = schemas.ItemError(code=item.error.code, message=item.error.message)
        return schemas.BatchItemPublic(index=index, error=error)
    result = schemas.InferResponse.model_validate(item.result, from_attributes=True)
    return schemas.BatchItemPublic(index=index, result=result)


def _cost_headers(response: Response, version: str, units: int, amount: int, currency: str) -> None:
    response.headers["x-model-version"] = version
    response.headers["x-billable-units"] = str(units)
    response.headers["x-cost-amount"] = str(amount)
    response.headers["x-cost-currency"] = currency
