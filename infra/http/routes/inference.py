"""Calling a model: one call, or a batch of items in one engine request. An API key with
the `inference` scope, or a person's access token."""

from __future__ import annotations

import re
import uuid
from typing import Annotated
from uuid import UUID

import orjson
from fastapi import APIRouter, Query, Request, Response
from pydantic import Field, TypeAdapter
from starlette.types import Receive, Scope, Send

from commands.inference import InferenceService
from commands.inference_types import BatchItem
from infra.http.deps import Inferrer, Use, container_of, current_principal, inference_caller
from infra.http.lean import LeanRoute, json_body, path_param, query_param, served_by
from infra.http.middleware import BodyLimit
from infra.http.schemas import inference as schemas

router = APIRouter(prefix="/v1", tags=["inference"], route_class=LeanRoute)
Inference = Annotated[InferenceService, Use(InferenceService)]
INFER_PATH = re.compile(r"/v1/models/[^/]+/infer(/batch)?")


def inference_limits(max_bytes: int) -> list[BodyLimit]:
    """Tensors are larger than the API's other JSON bodies."""
    return [BodyLimit("POST", INFER_PATH, max_bytes)]


VersionParam = Annotated[
    str | None,
    Query(max_length=64, description="A published version; the model's default when absent"),
]


_MODEL_ID, _VERSION = TypeAdapter(UUID), TypeAdapter(Annotated[str, Field(max_length=64)])


async def _serve_infer(scope: Scope, receive: Receive, send: Send) -> None:
    """`infer` without FastAPI's generic handling, the hot path's largest cost: the same
    authentication first, then the same validation, the service, and one orjson dump of
    the answer the service built (not checked again against the response model)."""
    request = Request(scope, receive)
    caller = await inference_caller(await current_principal(request))
    model_id = path_param(request, "model_id", _MODEL_ID)
    version = query_param(request, "version", _VERSION)
    body = await json_body(request, schemas.InferRequest)
    service = container_of(request).get(InferenceService)
    result = await service.infer(
        caller, model_id, version, body.inputs, uuid.uuid4().hex, body.output_format
    )
    answer = Response(orjson.dumps(result.as_json()), media_type="application/json")
    _cost_headers(answer, result.version, result.cost.units, result.cost.amount,
                  result.cost.currency)  # fmt: skip
    answer.headers["x-cached"] = "true" if result.cached else "false"
    await answer(scope, receive, send)


@router.post("/models/{model_id}/infer", response_model=schemas.InferResponse)
@served_by(_serve_infer)
async def infer(
    model_id: UUID, body: schemas.InferRequest, caller: Inferrer, version: VersionParam = None
) -> schemas.InferResponse:
    """Call a model: outputs, the version that answered, timings and what this call cost."""
    raise NotImplementedError  # documents the route; _serve_infer serves it


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
