"""`aimarket billing ...`: operator commands on billing (period close, payouts)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import typer

from commands.ledger import PayoutRun
from domain.errors import DomainError
from domain.pricing import Money
from infra.cli_common import load_settings

billing = typer.Typer(help="Operator commands on billing.", no_args_is_help=True)


@billing.command("payout")
def payout(
    publisher: Annotated[
        UUID | None, typer.Option(help="Only this publisher (their user id); default: all.")
    ] = None,
    minimum: Annotated[
        int | None, typer.Option(help="Pay only balances of at least this (minor units).")
    ] = None,
    currency: Annotated[str, typer.Option(help="The currency of --minimum.")] = "USD",
) -> None:
    """Transfer publishers' payable balances to their connected accounts. Safe to run
    again at any time: a payout a crash left half-done is finished, never paid twice."""
    from infra.clock import SystemClock
    from infra.ledger_wiring import ledger_commands
    from infra.stores import open_marketplace

    settings = load_settings()
    app = open_marketplace(settings)
    try:
        ledger = ledger_commands(settings, app, SystemClock())
        floor = None if minimum is None else Money.of(minimum, currency)
        if publisher is None:
            runs = ledger.payout_all(floor)
        else:
            runs = [PayoutRun(publisher, ledger.payout(publisher, floor))]
    finally:
        app.close()
    for run in runs:
        _report(run)
    if any(run.error for run in runs):
        raise typer.Exit(1)


@billing.command("close-period")
def close_period(
    period: Annotated[
        str | None, typer.Option(help="The month, YYYY-MM; default: the last one that ended.")
    ] = None,
) -> None:
    """Invoice a month's priced usage: one invoice per consumer and currency, a line per
    model, pushed to the payment provider. Safe to run again: it drafts nothing twice and
    pushes what earlier runs could not (no card saved yet, the provider away)."""
    from commands.metering_ports import month_of
    from domain.pricing import previous_period
    from infra.billing_wiring import standalone_invoices
    from infra.clock import SystemClock

    settings, clock = load_settings(), SystemClock()
    invoices, close = standalone_invoices(settings, clock)
    try:
        done = invoices.close_period(period or previous_period(month_of(clock.now())))
    except DomainError as error:  # a month not ended, or not a month
        typer.echo(f"{error.code}: {error.message}", err=True)
        raise typer.Exit(2) from None
    finally:
        close()
    typer.echo(
        f"{done.period}: {done.invoices} invoices, {done.pushed} pushed now, "
        f"{done.waiting} waiting (no card saved, or the provider away)"
    )


def _report(run: PayoutRun) -> None:
    if run.error:
        typer.echo(f"{run.publisher_id}: not paid out ({run.error})", err=True)
    for done in run.payouts:
        amount = f"{done.amount.amount} {done.amount.currency}"
        typer.echo(f"{run.publisher_id}: {done.status} {amount} (payout {done.payout_id})")
    if not run.error and not run.payouts:
        typer.echo(f"{run.publisher_id}: nothing to pay out")
