"""The catalogue: search, facets, sorts and cursor paging, all state in the query string."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from infra.web.context import Web

router = APIRouter(include_in_schema=False)


@router.get("/")
def home(web: Web) -> Response:
    return web.render("catalogue.html", page=None)
