"""Publisher pages: the publisher's models, a model's create and edit forms, its versions
with their deployment state, publish. Reads and writes go through the same query and
command handlers as /v1/models, and the API's own request schemas check the forms."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter
from fastapi.responses import Response

from domain.errors import DomainError
from domain.model import ModelNotFound
from domain.user import Role
from infra.http.deps import container_of
from infra.http.routes.models import Catalogue, Registry, viewer_of
from infra.http.schemas import models as schemas
from infra.web.context import PostedForm, WebContext
from infra.web.dash import Settled, after, lines, words
from infra.web.forms import form_again, parse
from queries.models import BrowseParams, ModelQueries

router = APIRouter(prefix="/publisher", include_in_schema=False)
TEMPLATE = "publisher/model.html"
DETAILS = ("name", "description", "task", "framework", "license", "visibility")
PRICES = ("price_per_request", "free_requests_per_month", "purchase_price")


@router.get("/models")
def my_models(web: Settled, catalogue: Catalogue) -> Response:
    """The caller's models in any state, each linked to its edit page."""
    viewer = viewer_of(web.signed_in())
    page = catalogue.browse(BrowseParams(mine=True, limit=100), viewer, refresh=True)
    return web.render("publisher/models.html", models=page["items"])


@router.get("/models/new")
def new_model(web: Settled) -> Response:
    web.signed_in()
    return web.render(TEMPLATE, model=None, fields={"visibility": "public", "currency": "EUR"})


@router.post("/models/new")
def create_model(form: PostedForm, models: Registry) -> Response:
    web, fields = form.web, form.fields
    given = {**_details(fields), "slug": form.get("slug"), "pricing": _pricing(fields)}
    try:
        body = parse(schemas.ModelCreate, given)
        pricing = body.pricing.model_dump() if body.pricing else None
        written = models.create_model(web.signed_in(), body.slug, body.given(), pricing)
    except DomainError as error:
        return form_again(web, TEMPLATE, error, model=None, fields=fields)
    return after(web, f"/publisher/models/{written.id}", written.position)


@router.get("/models/{model_id}")
def edit_model(model_id: UUID, web: Settled, catalogue: Catalogue) -> Response:
    """The edit form, the versions with their deployment state, the upload form."""
    model = _own_model(web, catalogue, model_id)
    return _page(web, model, _fields_of(model))


@router.post("/models/{model_id}")
def update_model(model_id: UUID, form: PostedForm, models: Registry, catalogue: Catalogue
                 ) -> Response:  # fmt: skip
    web = form.web
    try:
        body = parse(schemas.ModelUpdate, _details(form.fields))
        written = models.update_details(web.signed_in(), model_id, body.given())
    except DomainError as error:
        return _again(web, catalogue, model_id, error, form.fields)
    return after(web, f"/publisher/models/{model_id}", written.position)


@router.post("/models/{model_id}/pricing")
def change_pricing(model_id: UUID, form: PostedForm, models: Registry, catalogue: Catalogue
                   ) -> Response:  # fmt: skip
    """A new price list: on a published model it applies from the next billing period."""
    web = form.web
    try:
        prices = parse(schemas.PricingIn, _pricing(form.fields)).model_dump()
        written, _ = models.change_pricing(web.signed_in(), model_id, prices)
    except DomainError as error:
        return _again(web, catalogue, model_id, error, form.fields)
    return after(web, f"/publisher/models/{model_id}", written.position)


@router.post("/models/{model_id}/versions/{version}/publish")
def publish_version(model_id: UUID, version: str, form: PostedForm, models: Registry
                    ) -> Response:  # fmt: skip
    written = models.publish_version(form.web.signed_in(), model_id, version)
    return after(form.web, f"/publisher/models/{model_id}", written.position)


def _page(web: WebContext, model: dict[str, Any], fields: dict[str, Any]) -> Response:
    return web.render(TEMPLATE, model=model, fields=fields, part_kib=_part_kib(web))


def _own_model(web: WebContext, catalogue: ModelQueries, model_id: UUID) -> dict[str, Any]:
    """The model as its publisher (or an admin) sees it; anyone else's is missing (404),
    even a public one: this is its publisher's page."""
    who = web.signed_in()
    model = catalogue.detail(model_id, viewer_of(who))
    if str(model["publisher"]["id"]) != str(who.user_id) and who.role != Role.ADMIN.value:
        raise ModelNotFound(f"no model {model_id} of yours")
    return model


def _part_kib(web: WebContext) -> int:
    """The part size the upload script sends: the server's, as the API's clients do."""
    return container_of(web.request).settings.upload_part_bytes // 1024


def _again(web: WebContext, catalogue: ModelQueries, model_id: UUID, error: DomainError,
           fields: dict[str, str]) -> Response:  # fmt: skip
    model = _own_model(web, catalogue, model_id)
    return form_again(web, TEMPLATE, error, model=model, fields={**_fields_of(model), **fields})


def _details(fields: dict[str, str]) -> dict[str, Any]:
    """The form's fields as the API's ModelDetails takes them."""
    details: dict[str, Any] = {n: fields[n].strip() for n in DETAILS if fields.get(n, "").strip()}
    details["tags"] = words(fields.get("tags", ""))
    details["gated"] = fields.get("gated") == "on"
    details["access_questions"] = lines(fields.get("access_questions", ""))
    return details


def _pricing(fields: dict[str, str]) -> dict[str, Any]:
    """Prices in minor units; a field that is not a whole number is left for the schema
    to refuse with its own message."""
    prices: dict[str, Any] = {"currency": fields.get("currency", "").strip() or "EUR"}
    for name in PRICES:
        text = fields.get(name, "").strip()
        if text:
            prices[name] = _number(text)
    prices["plans"] = [_plan(line) for line in lines(fields.get("plans", ""))]
    return prices


def _plan(line: str) -> dict[str, Any]:
    """`name monthly_price included_requests`, as the plans box has one a line."""
    name, price, included = [*line.split(), "", "", ""][:3]
    return {"name": name, "monthly_price": _number(price), "included_requests": _number(included)}


def _number(text: str) -> int | str:
    return int(text) if text.isascii() and text.isdigit() else text


def _fields_of(model: dict[str, Any]) -> dict[str, Any]:
    pricing = model["pricing"]
    return {
        **{name: model[name] for name in DETAILS},
        "slug": model["slug"],
        "gated": model["gated"],
        "tags": ", ".join(model["tags"]),
        "access_questions": "\n".join(model["access_questions"]),
        "currency": pricing["currency"],
        **{name: pricing.get(name) or "" for name in PRICES},
        "plans": "\n".join(
            f"{p['name']} {p['monthly_price']} {p['included_requests']}" for p in pricing["plans"]
        ),
    }
