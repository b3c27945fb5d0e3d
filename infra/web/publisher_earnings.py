"""A publisher's earnings per model per billing period with a chart, their balances and
payouts: the API's /v1/publishers/me routes, called with the signed-in person."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from infra.http.routes import earnings as api
from infra.web.charts import stacked_bars
from infra.web.dash import Settled

router = APIRouter(prefix="/publisher", include_in_schema=False)


@router.get("/earnings")
def earnings_page(web: Settled, reads: api.Reads) -> Response:
    """The publisher's share per period, stacked by model; balances; payouts."""
    who = web.signed_in()
    found = api.earnings(who, reads)
    # Oldest period first, left to right, as a chart of time reads.
    rows = [(r.period, str(r.model_id)[:8], r.publisher_share) for r in reversed(found.items)]
    return web.render(
        "publisher/earnings.html",
        earnings=found,
        payouts=api.payouts(who, reads).items,
        chart=stacked_bars(rows),
    )
