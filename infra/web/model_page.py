"""A model's page: card, publisher, versions with their signature, pricing and plans,
ratings and reviews with replies, recommendations with reasons, and the playground. A
private model of someone else is 404, as in the API (the same queries decide)."""

from __future__ import annotations

import re
import uuid
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from commands.access import AccessService
from commands.inference import InferenceService
from commands.reviews import ReviewContent, ReviewService
from domain.errors import DomainError, NotFound
from infra.http.deps import Use
from infra.http.routes.models import viewer_of
from infra.http.schemas.access_reviews import AccessRequestCreate, ReviewWrite
from infra.http.schemas.inference import InferRequest
from infra.web.context import FetchWeb, NotSignedIn, PostedForm, Web
from infra.web.dash import Settled, after
from infra.web.forms import form_again, parse
from infra.web.playground import input_fields
from queries.models import ModelQueries
from queries.recommendations import Recommendations
from queries.reviews import ReviewQueries

router = APIRouter(include_in_schema=False)
Catalogue = Annotated[ModelQueries, Use(ModelQueries)]
ReviewReads = Annotated[ReviewQueries, Use(ReviewQueries)]
Recommender = Annotated[Recommendations, Use(Recommendations)]
Access = Annotated[AccessService, Use(AccessService)]
Inference = Annotated[InferenceService, Use(InferenceService)]
Reviews = Annotated[ReviewService, Use(ReviewService)]


def model_id_of(text: str) -> UUID:
    try:
        return UUID(text)
    except ValueError:
        raise NotFound("no such model") from None


@router.get("/models/{model_id}")
def model_page(
    model_id: str, web: Settled, models: Catalogue, reviews: ReviewReads, recommender: Recommender
) -> Response:
    found = model_id_of(model_id)
    viewer = viewer_of(web.visitor)
    model = models.detail(found, viewer)
    page, summary = reviews.for_model(web.visitor, found, None, 20, None)
    liked = recommender.for_model(str(found), viewer, 5)
    return web.render(
        "model.html",
        model=model,
        reviews=page.items,
        review_summary=summary,
        recommendations=liked,
        inputs=input_fields(model.get("signature")),
    )


@router.get("/models/{model_id}/access")
def access_page(model_id: str, web: Web, models: Catalogue) -> Response:
    web.signed_in()
    model = models.detail(model_id_of(model_id), viewer_of(web.visitor))
    return web.render("access.html", model=model)


@router.post("/models/{model_id}/access")
def request_access(model_id: str, form: PostedForm, models: Catalogue, access: Access) -> Response:
    visitor = form.web.signed_in()
    found = model_id_of(model_id)
    model = models.detail(found, viewer_of(visitor))
    answers = [form.get(f"answer_{n}") for n in range(len(model["access_questions"]))]
    try:
        body = parse(AccessRequestCreate, {"answers": answers})
        access.request_access(visitor, found, body.answers)
    except DomainError as error:
        return form_again(form.web, "access.html", error, model=model, answers=answers)
    return form.web.render("access.html", model=model, requested=True)


@router.post("/models/{model_id}/reviews")
def write_review(model_id: str, form: PostedForm, reviews: Reviews) -> Response:
    """Review a model the visitor has used, or edit their review: the API's own handler
    decides (403 `not_a_user_of_model` before any use), then back to the page."""
    visitor = form.web.signed_in()
    found = model_id_of(model_id)
    rating = form.get("rating")
    fields: dict[str, object] = {name: form.get(name) for name in ("version", "title", "body")}
    fields["rating"] = int(rating) if rating.isdigit() else rating
    body = parse(ReviewWrite, fields)
    content = ReviewContent(body.version, body.rating, body.title, body.body)
    written = reviews.write_review(visitor, found, content).written
    return after(form.web, f"/models/{found}", written.position)


PLAYGROUND_PATH = re.compile(r"/models/[^/]+/playground")  # tensors: the infer body limit


@router.post("/models/{model_id}/playground")
async def playground(
    model_id: str, body: InferRequest, web: FetchWeb, service: Inference
) -> Response:
    """One call from the page, with the visitor's session, through the API's own handler."""
    caller = web.visitor
    if caller is None:
        raise NotSignedIn("sign in to call the model")
    result = await service.infer(
        caller, model_id_of(model_id), None, body.inputs, uuid.uuid4().hex, body.output_format
    )
    answer: dict[str, Any] = result.as_json()
    return JSONResponse(answer)
