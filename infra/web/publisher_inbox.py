"""What waits for a publisher's answer: access requests to their gated models (approve
or reject) and reviews of their models (reply once), through the same handlers as
/v1/access-requests and /v1/reviews."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any
from uuid import UUID

from fastapi import APIRouter
from fastapi.responses import Response

from infra.http.routes.access import Access, AccessReads
from infra.http.routes.models import Catalogue, viewer_of
from infra.http.routes.reviews import ReviewReads, Reviews
from infra.http.schemas import access_reviews as schemas
from infra.web.context import PostedForm, WebContext
from infra.web.dash import Settled, after
from infra.web.forms import parse
from queries.models import BrowseParams, ModelQueries
from queries.reviews import ReviewQueries

router = APIRouter(prefix="/publisher", include_in_schema=False)
SHOWN = 50
INBOX = "/publisher/inbox"


@router.get("/inbox")
def inbox(web: Settled, access: AccessReads, reviews: ReviewReads, catalogue: Catalogue
          ) -> Response:  # fmt: skip
    """Access requests to the caller's models, newest first, and their models' reviews."""
    who = web.signed_in()
    requests = access.mine(who, "publisher", None, SHOWN, None).items
    return web.render("publisher/inbox.html", requests=requests,
                      reviewed=_reviewed(web, reviews, catalogue))  # fmt: skip


def _reviewed(web: WebContext, reviews: ReviewQueries, catalogue: ModelQueries
              ) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:  # fmt: skip
    """Each of the caller's models that has reviews, with them."""
    who = web.signed_in()
    mine = catalogue.browse(BrowseParams(mine=True, limit=SHOWN), viewer_of(who))["items"]
    listed = [(m, reviews.for_model(who, UUID(m["id"]), None, SHOWN, None)[0].items) for m in mine]
    return [(model, items) for model, items in listed if items]


@router.post("/access-requests/{request_id}/approve")
def approve(request_id: UUID, form: PostedForm, access: Access) -> Response:
    """Approve, optionally until a day (its end, UTC) and with a monthly call cap."""
    body = parse(schemas.AccessApproval, _approval(form.fields))
    written = access.approve(
        form.web.signed_in(), request_id, body.expires_at, body.monthly_call_cap
    )
    return after(form.web, INBOX, written.position)


@router.post("/access-requests/{request_id}/reject")
def reject(request_id: UUID, form: PostedForm, access: Access) -> Response:
    body = parse(schemas.AccessDecisionReason, {"reason": form.get("reason")})
    written = access.reject(form.web.signed_in(), request_id, body.reason)
    return after(form.web, INBOX, written.position)


@router.post("/reviews/{review_id}/reply")
def reply(review_id: UUID, form: PostedForm, reviews: Reviews) -> Response:
    body = parse(schemas.ReviewReply, {"body": form.get("body")})
    written = reviews.reply(form.web.signed_in(), review_id, body.body)
    return after(form.web, INBOX, written.position)


def _approval(fields: dict[str, str]) -> dict[str, Any]:
    approval: dict[str, Any] = {}
    if until := fields.get("expires_on", "").strip():
        try:
            day = datetime.strptime(until, "%Y-%m-%d").date()
            approval["expires_at"] = datetime.combine(day, time.max, UTC)
        except ValueError:
            approval["expires_at"] = until  # the schema refuses it, with its own message
    if cap := fields.get("monthly_call_cap", "").strip():
        approval["monthly_call_cap"] = int(cap) if cap.isascii() and cap.isdigit() else cap
    return approval
