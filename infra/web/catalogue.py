"""The catalogue: search, facets, sorts and cursor paging, all state in the query string
(so a URL is shareable), through the same ModelQueries.browse as GET /v1/models."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter
from fastapi.responses import Response

from domain.errors import DomainError
from infra.http.deps import Use
from infra.http.params import decoded
from infra.http.routes.models import viewer_of
from infra.http.schemas.models import ModelsQuery
from infra.web.context import Web
from infra.web.forms import form_again, parse
from queries.models import BrowseParams, ModelQueries

router = APIRouter(include_in_schema=False)
Catalogue = Annotated[ModelQueries, Use(ModelQueries)]

# The page's facets, each shown as a group of checkboxes: (query key, facet name, label).
FACETS = (
    ("task", "task", "Task"),
    ("framework", "framework", "Framework"),
    ("tags", "tag", "Tag"),
    ("license", "license", "License"),
    ("price", "price_kind", "Price"),
)
SORTS = ("relevance", "popular", "trending", "recent", "rating")
LISTS = ("task", "framework", "tags", "license")
PAGE_SIZE = 20


@router.get("/")
@router.get("/models")
def catalogue(web: Web, models: Catalogue) -> Response:
    state = _state(web)
    try:
        query = parse(ModelsQuery, {**state, "limit": PAGE_SIZE})
        given = query.model_dump(exclude={"publisher", "cursor", "mine"})
        params = BrowseParams(**given, cursor=decoded(query.cursor))
        page = models.browse(params, viewer_of(web.visitor))
    except DomainError as error:
        return form_again(web, "catalogue.html", error, state=state, page=None, **_links(state))
    return web.render("catalogue.html", state=state, page=page, **_links(state, page))


def _state(web: Web) -> dict[str, Any]:
    """The query string as the page's state: lists for the facets, text for the rest."""
    args = web.request.query_params
    state: dict[str, Any] = {key: args.getlist(key) for key in LISTS if args.getlist(key)}
    for key in ("q", "price", "sort", "cursor"):
        if args.get(key):
            state[key] = args[key]
    return state


def _links(state: dict[str, Any], page: dict[str, Any] | None = None) -> dict[str, Any]:
    """The URLs of the next page and of each sort, keeping every other choice."""
    rest = {k: v for k, v in state.items() if k not in ("cursor", "sort")}
    sort_urls = {name: _url({**rest, "sort": name}) for name in SORTS}
    next_cursor = page.get("next_cursor") if page else None
    next_url = _url({**rest, **_sort_of(state), "cursor": next_cursor}) if next_cursor else None
    first_url = _url({**rest, **_sort_of(state)}) if state.get("cursor") else None
    return {"facet_groups": FACETS, "sort_urls": sort_urls, "next_url": next_url,
            "first_url": first_url}  # fmt: skip


def _sort_of(state: dict[str, Any]) -> dict[str, Any]:
    return {"sort": state["sort"]} if state.get("sort") else {}


def _url(state: dict[str, Any]) -> str:
    return "/models?" + urlencode(state, doseq=True)
