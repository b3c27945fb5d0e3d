"""Errors on pages are pages: the same status and code as the API, shown in HTML."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import cast

from fastapi import FastAPI, Request
from fastapi.responses import Response

from domain.errors import DomainError
from infra.http.errors import status_of
from infra.web.context import SignInRequired, WebContext, login_url

Handler = Callable[[Request, Exception], Awaitable[Response]]


def install_page_errors(app: FastAPI) -> None:
    api_handler = cast("Handler", app.exception_handlers[DomainError])  # the API's JSON

    async def domain_error(request: Request, error: Exception) -> Response:
        web: WebContext | None = getattr(request.state, "web", None)
        wants_json = "application/json" in request.headers.get("accept", "")
        if web is None or wants_json or not isinstance(error, DomainError):
            return await api_handler(request, error)
        status = status_of(error)
        return web.render("error.html", status_code=status, error=error, status=status)

    async def sign_in_required(request: Request, error: Exception) -> Response:
        web: WebContext = request.state.web
        return web.redirect(login_url(request))

    app.add_exception_handler(DomainError, domain_error)
    app.add_exception_handler(SignInRequired, sign_in_required)
