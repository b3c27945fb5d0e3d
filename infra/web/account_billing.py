"""Account billing pages: usage and spend per model per day with a chart, invoices, the
monthly budget, saved cards. The API's billing routes are called as they are (the same
handlers, the same shaping), with the signed-in person as the caller."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query
from fastapi.responses import Response

from commands.payment_methods import PaymentMethods
from domain.errors import DomainError
from domain.model import ModelNotFound
from domain.principal import Principal
from infra.billing_usage.wiring import UsageBilling
from infra.http.routes import billing, billing_usage, invoices
from infra.http.routes.models import Catalogue, viewer_of
from infra.http.schemas.billing_usage import BudgetUpdate
from infra.web.charts import stacked_bars
from infra.web.context import PostedForm, WebContext
from infra.web.dash import Settled, after
from infra.web.forms import form_again, parse
from infra.web.money import minor_units
from queries.invoices import InvoiceQueries
from queries.models import ModelQueries

router = APIRouter(prefix="/account", include_in_schema=False)


@router.get("/usage")
def usage_page(web: Settled, bills: billing_usage.Bills, catalogue: Catalogue,
               first: Annotated[date | None, Query(alias="from")] = None,
               last: Annotated[date | None, Query(alias="to")] = None) -> Response:  # fmt: skip
    """Calls and spend per model per day (this month unless a period is given)."""
    who = web.signed_in()
    report = billing_usage.usage(who, bills, first, last)
    names = _names(catalogue, who, {d.model_id for d in report.days})
    rows = [(d.day.isoformat(), names[d.model_id], d.cost.amount) for d in report.days]
    return web.render("account/usage.html", report=report, names=names,
                      chart=stacked_bars(rows))  # fmt: skip


def _names(catalogue: ModelQueries, who: Principal, ids: set[UUID]) -> dict[UUID, str]:
    """Each model's name, or the start of its id where the caller may no longer see it."""
    names = {}
    for model_id in sorted(ids):
        try:
            names[model_id] = str(catalogue.detail(model_id, viewer_of(who))["name"])
        except ModelNotFound:
            names[model_id] = str(model_id)[:8]
    return names


@router.get("/billing")
def billing_page(web: Settled, bills: billing_usage.Bills, reads: invoices.Invoices,
                 methods: billing.Methods) -> Response:  # fmt: skip
    """Invoices, the monthly budget, saved cards."""
    return _billing(web, bills, reads, methods)


def _billing(web: WebContext, bills: UsageBilling, reads: InvoiceQueries,
             methods: PaymentMethods, error: DomainError | None = None) -> Response:  # fmt: skip
    who = web.signed_in()
    values: dict[str, Any] = {
        "invoices": invoices.list_invoices(who, reads, None, 50).items,
        "budget": billing_usage.budget(who, bills),
        "cards": billing.payment_methods(who, methods),
    }
    if error is not None:
        return form_again(web, "account/billing.html", error, **values)
    return web.render("account/billing.html", **values)


@router.post("/billing/cards")
def add_card(form: PostedForm, bills: billing_usage.Bills, reads: invoices.Invoices,
             methods: billing.Methods) -> Response:  # fmt: skip
    """Save a card (test cards on the embedded profile) and make it the default."""
    try:
        body = parse(billing.PaymentMethodCreate, {"payment_method": form.get("card")})
        written = methods.add(form.web.signed_in(), body.payment_method)
    except DomainError as error:
        return _billing(form.web, bills, reads, methods, error)
    return after(form.web, "/account/billing", written.position)


@router.post("/billing/budget")
def set_budget(form: PostedForm, bills: billing_usage.Bills, reads: invoices.Invoices,
               methods: billing.Methods) -> Response:  # fmt: skip
    """The account's monthly cap, typed in major units (12.50)."""
    try:
        cap = {"amount": minor_units(form.get("amount")), "currency": form.get("currency").upper()}
        body = parse(BudgetUpdate, {"monthly_cap": cap})
        billing_usage.set_budget(body, form.web.signed_in(), bills)
    except DomainError as error:
        return _billing(form.web, bills, reads, methods, error)
    return form.web.redirect("/account/billing")
