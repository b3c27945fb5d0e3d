"""Admin pages: accounts (search, role, deactivate and reactivate) and the audit timeline
of any aggregate: its events in order and its state at any version, read from the event
store by the same handlers as /v1/admin and /v1/audit."""

from __future__ import annotations

import json
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query
from fastapi.responses import Response

from domain.errors import Forbidden, InvalidInput
from domain.principal import Principal
from domain.user import Role
from infra.http.deps import Auth
from infra.http.routes import admin as api
from infra.http.routes.audit import Audit
from infra.http.schemas import accounts as schemas
from infra.web.context import PostedForm, WebContext
from infra.web.dash import Settled, after
from infra.web.forms import parse

router = APIRouter(prefix="/admin", include_in_schema=False)
Text = Annotated[str, Query(max_length=200)]
EVENTS_SHOWN = 500


def admin_of(web: WebContext) -> Principal:
    who = web.signed_in()
    if who.role != Role.ADMIN.value:
        raise Forbidden("this page is for admins", code="forbidden")
    return who


@router.get("/users")
def users(web: Settled, accounts: api.Accounts, q: Text = "", role: Text = "") -> Response:
    """Accounts, newest first, or those whose email matches `q`; by role."""
    admin = admin_of(web)
    if q.strip():
        found = [
            hit.user for hit in api.search_users(admin, accounts, q.strip(), role or None).items
        ]
    else:
        found = api.list_users(admin, accounts, None, role or None).items
    return web.render(
        "admin/users.html", users=found, q=q, role=role, roles=[r.value for r in Role]
    )


@router.post("/users/{user_id}/role")
def change_role(user_id: UUID, form: PostedForm, auth: Auth) -> Response:
    body = parse(schemas.RoleUpdate, {"role": form.get("role")})
    written = api.change_role(user_id, body, admin_of(form.web), auth)
    return after(form.web, "/admin/users", written.position)


@router.post("/users/{user_id}/deactivate")
def deactivate(user_id: UUID, form: PostedForm, auth: Auth) -> Response:
    written = api.deactivate(user_id, admin_of(form.web), auth)
    return after(form.web, "/admin/users", written.position)


@router.post("/users/{user_id}/reactivate")
def reactivate(user_id: UUID, form: PostedForm, auth: Auth) -> Response:
    written = api.reactivate(user_id, admin_of(form.web), auth)
    return after(form.web, "/admin/users", written.position)


@router.get("/audit")
def audit_page(web: Settled, audit: Audit, id: Text = "", version: Text = "") -> Response:
    """An aggregate's events, oldest first, and its state now or at a chosen version."""
    admin_of(web)
    if not id.strip():
        return web.render("admin/audit.html", aggregate_id="", events=[], state=None)
    aggregate_id, at = _aggregate_id(id), _version(version)
    events = audit.events(aggregate_id, 0, EVENTS_SHOWN)
    state = audit.state(aggregate_id, at)
    return web.render("admin/audit.html", aggregate_id=str(aggregate_id), events=events,
                      state=state, shown=_shown, chosen=at)  # fmt: skip


class InvalidAggregateId(InvalidInput):
    code = "invalid_aggregate_id"


def _aggregate_id(text: str) -> UUID:
    try:
        return UUID(text.strip())
    except ValueError:
        raise InvalidAggregateId("an aggregate id is a UUID") from None


def _version(text: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    if not (text.isascii() and text.isdigit() and len(text) <= 18):
        raise InvalidInput("a version is a whole number from 1", code="invalid_version")
    return int(text)


def _shown(value: Any) -> str:
    """An event's data or a state, as indented JSON."""
    return json.dumps(value, indent=2, sort_keys=True, default=str)
