"""Sign up, verify the email, sign in and out, change the password."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from domain.errors import DomainError
from domain.principal import Principal
from domain.user import Role
from infra.http.deps import Auth
from infra.http.schemas import accounts as schemas
from infra.web.context import PostedForm, Web
from infra.web.forms import form_again, parse
from infra.web.site import SESSION_COOKIE

router = APIRouter(include_in_schema=False)


def _safe_next(target: str) -> str:
    """Only a path on this site: never an open redirect."""
    # Browsers read a backslash as a slash: "/\\evil.example" would leave the site too.
    on_site = target.startswith("/") and not target.startswith(("//", "/\\"))
    return target if on_site and "\\" not in target else "/"


@router.get("/signup")
def signup_page(web: Web) -> Response:
    return web.render("signup.html")


@router.post("/signup")
def signup(form: PostedForm, auth: Auth) -> Response:
    fields = {k: form.get(k) for k in ("email", "role", "display_name") if form.get(k)}
    try:
        body = parse(schemas.UserCreate, {**fields, "password": form.secret("password")})
        auth.register(body.email, body.password, Role(body.role), body.display_name or "")
    except DomainError as error:
        return form_again(form.web, "signup.html", error, values=fields)
    return form.web.render("signup_done.html", email=body.email)


@router.get("/verify")
def verify_page(web: Web, token: str = "") -> Response:
    return web.render("verify.html", token=token)


@router.post("/verify")
def verify(form: PostedForm, auth: Auth) -> Response:
    try:
        auth.verify_email(parse(schemas.VerifyEmail, {"token": form.get("token")}).token)
    except DomainError as error:
        return form_again(form.web, "verify.html", error, token=form.get("token"))
    return form.web.render("verified.html")


@router.get("/login")
def login_page(web: Web, next: Annotated[str, Query(max_length=2000)] = "/") -> Response:
    return web.render("login.html", next=_safe_next(next))


@router.post("/login")
def login(form: PostedForm) -> Response:
    web, target = form.web, _safe_next(form.get("next") or "/")
    client = web.request.client.host if web.request.client else None
    try:
        body = parse(
            schemas.Login, {"email": form.get("email"), "password": form.secret("password")}
        )
        cookie = web.site.sessions.sign_in(body.email, body.password, client)
    except DomainError as error:
        return form_again(web, "login.html", error, next=target, email=form.get("email"))
    # A new id for the new session (any id the browser held before is dropped).
    web.cookies[SESSION_COOKIE] = cookie
    return web.redirect(target)


@router.post("/logout")
def logout(form: PostedForm) -> Response:
    web = form.web
    web.site.sessions.sign_out(web.request.cookies.get(SESSION_COOKIE))
    web.cookies[SESSION_COOKIE] = None
    return web.redirect("/")


@router.get("/account/password")
def password_page(web: Web) -> Response:
    web.signed_in()
    return web.render("password.html")


@router.post("/account/password")
def change_password(form: PostedForm, auth: Auth) -> Response:
    visitor: Principal = form.web.signed_in()
    try:
        body = parse(
            schemas.PasswordChange,
            {"current_password": form.secret("current_password"),
             "new_password": form.secret("new_password")},
        )  # fmt: skip
        auth.change_password(visitor, body.current_password, body.new_password)
    except DomainError as error:
        return form_again(form.web, "password.html", error)
    return form.web.render("password.html", changed=True)
