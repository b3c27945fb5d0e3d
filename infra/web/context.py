"""Every page's view of the request: the visitor, their CSRF token, render and redirect.

A page route takes `web: Web` and returns `web.render("page.html", ...)`; a form handler
takes `form: PostedForm`, which has already refused a missing or wrong CSRF token.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Annotated, Any, cast
from urllib.parse import parse_qsl, quote

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse, Response

from domain.errors import Forbidden, PayloadTooLarge, Unauthorized
from domain.principal import Principal
from infra.web.site import ANON_COOKIE, SESSION_COOKIE, Site
from queries.progress import ReadYourWrites

MAX_FORM_BYTES = 64 * 1024
CSRF_HEADER = "x-csrf-token"


class SignInRequired(Exception):
    """A page for signed-in people, visited by someone who is not: off to /login."""


class CsrfFailed(Forbidden):
    code = "csrf_failed"


class NotSignedIn(Unauthorized):
    """A page's fetch (the playground) without a signed-in session."""

    code = "sign_in_required"


@dataclass
class WebContext:
    request: Request
    site: Site
    visitor: Principal | None
    csrf_bound_to: str
    cookies: dict[str, str | None] = field(default_factory=dict)  # to set (None: delete)

    @property
    def csrf_token(self) -> str:
        return self.site.csrf_token(self.csrf_bound_to)

    def signed_in(self) -> Principal:
        if self.visitor is None:
            raise SignInRequired
        return self.visitor

    def render(self, template: str, status_code: int = 200, **values: Any) -> Response:
        values.update(request=self.request, web=self, visitor=self.visitor)
        response = self.site.templates.TemplateResponse(
            self.request, template, values, status_code=status_code
        )
        return self.finish(response)

    def redirect(self, url: str) -> Response:
        return self.finish(RedirectResponse(url, status_code=303))

    def finish(self, response: Response) -> Response:
        secure = self.request.url.scheme == "https"
        for name, value in self.cookies.items():
            if value is None:
                response.delete_cookie(name, httponly=True, samesite="lax", secure=secure)
            else:
                response.set_cookie(name, value, httponly=True, samesite="lax", secure=secure)
        response.headers.setdefault("Cache-Control", "no-store")
        return response


def site_of(request: Request) -> Site:
    return cast("Site", request.app.state.web_site)


def web_context(request: Request) -> WebContext:
    """A plain `def`: finding the visitor reads the session store (I/O), so in a thread."""
    request.state.page = True  # errors from here on are shown as pages, not JSON
    site = site_of(request)
    cookie = request.cookies.get(SESSION_COOKIE)
    visitor = site.sessions.visitor(cookie)
    web = WebContext(request, site, visitor, csrf_bound_to="")
    if visitor is not None and cookie is not None:
        web.csrf_bound_to = "s:" + cookie
    else:
        if cookie is not None:  # unknown or ended: never adopted, so dropped
            web.cookies[SESSION_COOKIE] = None
        anon = request.cookies.get(ANON_COOKIE) or _new_anon(web)
        web.csrf_bound_to = "a:" + anon
    request.state.web = web
    return web


def _new_anon(web: WebContext) -> str:
    anon = secrets.token_urlsafe(24)
    web.cookies[ANON_COOKIE] = anon
    return anon


Web = Annotated[WebContext, Depends(web_context)]


@dataclass(frozen=True)
class Posted:
    web: WebContext
    fields: dict[str, str]

    def get(self, name: str) -> str:
        """A field, trimmed (missing: empty)."""
        return self.fields.get(name, "").strip()

    def secret(self, name: str) -> str:
        """A password as typed: spaces count."""
        return self.fields.get(name, "")


async def posted_form(request: Request, web: Web) -> Posted:
    """The form's fields, once its CSRF token (field or header) is checked."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise PayloadTooLarge("the form is too large")
    fields = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    check_csrf(web, fields.get("csrf_token") or request.headers.get(CSRF_HEADER, ""))
    return Posted(web, fields)


def check_csrf(web: WebContext, presented: str) -> None:
    if not web.site.csrf_ok(web.csrf_bound_to, presented):
        raise CsrfFailed("the form's CSRF token is missing or wrong; reload the page")


async def csrf_header(request: Request, web: Web) -> WebContext:
    """For a same-origin fetch with a JSON body: the token comes in X-CSRF-Token."""
    check_csrf(web, request.headers.get(CSRF_HEADER, ""))
    return web


PostedForm = Annotated[Posted, Depends(posted_form)]
FetchWeb = Annotated[WebContext, Depends(csrf_header)]


def login_url(request: Request) -> str:
    return "/login?next=" + quote(
        request.url.path + (f"?{request.url.query}" if request.url.query else "")
    )


async def caught_up(web: WebContext, position: int | None) -> None:
    """Wait until the read models show the visitor's own write at `position` (the API's
    `wait_for`), so the page after a form shows what the form did."""
    if position is None:
        return
    waits = web.request.app.state.container.get(ReadYourWrites)
    who = f"user:{web.visitor.user_id}" if web.visitor else "address:"
    await waits.wait(who, position)
