"""Buying and subscribing from the browser, and the account's purchases and
subscriptions with cancel: the API's purchase and subscription routes, called as they
are with the signed-in person. A buy form carries an idempotency key made when the page
was drawn, so a form sent twice makes one purchase."""

from __future__ import annotations

import uuid
from typing import Any
from uuid import UUID

from fastapi import APIRouter
from fastapi.responses import Response

from commands.payment_methods import PaymentMethods
from domain.errors import DomainError
from infra.http.routes import billing, purchases, subscriptions
from infra.http.routes.models import Catalogue, viewer_of
from infra.web.context import PostedForm, WebContext
from infra.web.dash import Settled, after
from infra.web.forms import form_again, parse
from queries.models import ModelQueries

router = APIRouter(include_in_schema=False)
PURCHASES = "/account/purchases"


@router.get(PURCHASES)
def purchases_page(web: Settled, reads: purchases.PurchaseReads,
                   subs: subscriptions.SubscriptionReads) -> Response:  # fmt: skip
    """The caller's purchases with their state, and their subscriptions to cancel."""
    who = web.signed_in()
    return web.render(
        "account/purchases.html",
        purchases=purchases.my_purchases(who, reads, None, 50).items,
        subscriptions=subscriptions.my_subscriptions(who, subs, None, 50).items,
    )


@router.post("/account/subscriptions/{subscription_id}/cancel")
def cancel(subscription_id: UUID, form: PostedForm, commands: subscriptions.Subscriptions
           ) -> Response:  # fmt: skip
    """At the paid period's end, or now (access lasts to the period's end either way)."""
    body = subscriptions.SubscriptionCancel(at_period_end=form.get("when") != "now")
    written = subscriptions.cancel_subscription(
        subscription_id, form.web.signed_in(), commands, body
    )
    return after(form.web, PURCHASES, written.position)


@router.get("/models/{model_id}/buy")
def buy_page(model_id: UUID, web: Settled, catalogue: Catalogue, methods: billing.Methods
             ) -> Response:  # fmt: skip
    """The model's price and plans, the default card, a button for each way to pay."""
    return _buy(web, model_id, catalogue, methods)


def _buy(web: WebContext, model_id: UUID, catalogue: ModelQueries, methods: PaymentMethods,
         error: DomainError | None = None) -> Response:  # fmt: skip
    who = web.signed_in()
    values: dict[str, Any] = {
        "model": catalogue.detail(model_id, viewer_of(who)),
        "cards": billing.payment_methods(who, methods),
        "key": uuid.uuid4().hex,
    }
    if error is not None:
        return form_again(web, "account/buy.html", error, **values)
    return web.render("account/buy.html", **values)


@router.post("/models/{model_id}/buy")
def buy(model_id: UUID, form: PostedForm, catalogue: Catalogue, methods: billing.Methods,
        commands: purchases.Purchases) -> Response:  # fmt: skip
    """Buy outright (no plan) or subscribe to the chosen plan, with the default card."""
    try:
        body = parse(purchases.PurchaseCreate, {"plan": form.get("plan") or None})
        made = purchases.purchase(model_id, body, form.web.signed_in(), commands, form.get("key"))
    except DomainError as error:
        return _buy(form.web, model_id, catalogue, methods, error)
    return after(form.web, PURCHASES, made.position)
