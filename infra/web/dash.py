"""What the dashboard pages (account billing, publisher, admin) share.

A form's handler answers with a redirect that carries the event position its command
reached (`?wait_for=`), and the page it leads to waits, as an API query with `wait_for`
does, until the read models have it: a person sees what they just did.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import Response

from infra.http.deps import container_of
from infra.web.context import Web, WebContext
from queries.progress import ReadYourWrites


async def settled(request: Request, web: Web) -> WebContext:
    """The page's context, once the read models reflect the position in `wait_for`."""
    given = request.query_params.get("wait_for", "")
    if given.isascii() and given.isdigit():
        who = web.visitor.user_id if web.visitor else web.csrf_bound_to
        await container_of(request).get(ReadYourWrites).wait(f"user:{who}", int(given))
    return web


Settled = Annotated[WebContext, Depends(settled)]


def after(web: WebContext, path: str, position: int) -> Response:
    """Back to `path`, which will wait for `position` before it is drawn."""
    return web.redirect(f"{path}?wait_for={position}" if position else path)


def words(text: str) -> list[str]:
    """Comma- or space-separated words (tags)."""
    return [w for w in text.replace(",", " ").split() if w]


def lines(text: str) -> list[str]:
    """Non-empty lines (access questions)."""
    return [line.strip() for line in text.splitlines() if line.strip()]
