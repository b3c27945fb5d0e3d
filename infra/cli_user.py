"""The user's commands, on the SDK (aimarket_client): log in, keys, jobs, usage; the
model commands are in infra/cli_user_models.py. Output is a table, or JSON with --json;
exit codes in infra/cli_user_common.py."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Annotated, Any

import typer

from infra.cli_user_common import (
    EXIT_USAGE,
    BaseUrl,
    Json,
    api_errors,
    base_url_of,
    config_path,
    emit,
    fail,
    load_login,
    money,
    save_login,
    user_client,
)
from infra.cli_user_models import model_commands

keys = typer.Typer(help="Your API keys.", no_args_is_help=True)
jobs = typer.Typer(help="Your async inference jobs (default: list them).")


def user_commands(app: typer.Typer, models: typer.Typer) -> None:
    """Adds the user's commands beside the operator's: `aimarket login`, `aimarket models
    search` next to `aimarket models refresh-stats`, and so on."""
    for command in (login, logout, whoami, usage):
        app.command()(command)
    app.add_typer(keys, name="keys")
    app.add_typer(jobs, name="jobs")
    model_commands(app, models)


def login(
    email: Annotated[str | None, typer.Option(help="Log in as this person.")] = None,
    password: Annotated[
        str | None, typer.Option(envvar="AIMARKET_PASSWORD", help="Asked for when not given.")
    ] = None,
    api_key: Annotated[str | None, typer.Option(help="Keep this API key instead.")] = None,
    base_url: BaseUrl = None,
) -> None:
    """Log in (a person's tokens, or an API key) and keep it in the config dir (0600)."""
    from aimarket_client import Client

    url = base_url_of(base_url)
    if not (email or api_key):
        fail("give --email (and a password) or --api-key", EXIT_USAGE)
    with api_errors(), Client(url, api_key=api_key) as sdk:
        if email:
            pair = sdk.login(email, password or typer.prompt("Password", hide_input=True))
            stored: dict[str, Any] = {"base_url": url, "email": email, **pair}
        else:
            stored = {"base_url": url, "api_key": api_key}
        me = sdk.me()
    path = save_login({**stored, "email": me.email})
    typer.echo(f"logged in to {url} as {me.email} ({me.role}); kept in {path}")


def logout(base_url: BaseUrl = None) -> None:
    """End the session (a person's) and forget the stored login."""
    if load_login().get("access_token"):
        with user_client(base_url) as sdk:
            sdk.logout()
    config_path().unlink(missing_ok=True)
    typer.echo("logged out")


def whoami(base_url: BaseUrl = None, as_json: Json = False) -> None:
    """Who the stored login (or $AIMARKET_API_KEY) is."""
    with user_client(base_url) as sdk:
        me = sdk.me()
    emit(as_json, me.raw, ["email", "role", "verified", "id"],
         lambda: [[me.email, me.role, me.verified, me.id]])  # fmt: skip


@keys.command("create")
def create_key(
    name: str,
    scope: Annotated[
        list[str] | None, typer.Option(help="Repeat for more; default inference.")
    ] = None,
    expires_at: Annotated[str | None, typer.Option(help="ISO 8601, with a zone.")] = None,
    base_url: BaseUrl = None,
    as_json: Json = False,
) -> None:
    """Create an API key; the key is shown this once."""
    with user_client(base_url) as sdk:
        made = sdk.keys.create(name, scope or ["inference"], expires_at=expires_at)
    emit(as_json, made.raw, ["id", "name", "scopes", "key (shown once)"],
         lambda: [[made.id, made.name, " ".join(made.scopes), made.key]])  # fmt: skip


@keys.command("list")
def list_keys(
    all_keys: Annotated[bool, typer.Option("--all", help="Revoked ones too.")] = False,
    base_url: BaseUrl = None,
    as_json: Json = False,
) -> None:
    """Your API keys, newest first (never the keys themselves)."""
    with user_client(base_url) as sdk:
        found = sdk.keys.list(include_revoked=all_keys)
    columns = ["id", "name", "prefix", "scopes", "last used", "revoked"]
    emit(as_json, [k.raw for k in found], columns,
         lambda: [[k.id, k.name, k.prefix, " ".join(k.scopes), k.last_used_at, k.revoked]
                  for k in found])  # fmt: skip


@keys.command("revoke")
def revoke_key(key_id: str, base_url: BaseUrl = None) -> None:
    """Revoke a key: refused from the next call on."""
    with user_client(base_url) as sdk:
        sdk.keys.revoke(key_id)
    typer.echo(f"revoked {key_id}")


@jobs.callback(invoke_without_command=True)
def list_jobs(
    context: typer.Context,
    limit: Annotated[int, typer.Option(min=1, max=100)] = 20,
    base_url: BaseUrl = None,
    as_json: Json = False,
) -> None:
    """Your jobs, newest first."""
    if context.invoked_subcommand is not None:
        return
    with user_client(base_url) as sdk:
        found = sdk.jobs.list(limit=limit)
    emit(as_json, [j.raw for j in found], ["id", "model", "version", "status", "queued", "error"],
         lambda: [[j.id, j.model_id, j.version, j.status, j.queued_at,
                   (j.error or {}).get("code")] for j in found])  # fmt: skip


@jobs.command("show")
def show_job(job_id: str, base_url: BaseUrl = None) -> None:
    """One job, as JSON (its result included)."""
    with user_client(base_url) as sdk:
        emit(True, sdk.jobs.get(job_id).raw, [], list)


@jobs.command("cancel")
def cancel_job(job_id: str, base_url: BaseUrl = None) -> None:
    """Cancel a queued or running job."""
    with user_client(base_url) as sdk:
        typer.echo(f"{job_id}: {sdk.jobs.cancel(job_id).status}")


def usage(
    first: Annotated[str | None, typer.Option("--from", help="YYYY-MM-DD (UTC).")] = None,
    last: Annotated[str | None, typer.Option("--to", help="YYYY-MM-DD, inclusive.")] = None,
    base_url: BaseUrl = None,
    as_json: Json = False,
) -> None:
    """Your metered calls per model per day with their cost (default: this month)."""
    for day in (first, last):
        if day is not None:
            _check_day(day)
    with user_client(base_url) as sdk:
        report = sdk.billing.usage(first, last)
    rows: list[Sequence[Any]] = [
        [d.day, d.model_id, d.calls, d.billable_units, money(d.cost.amount, d.cost.currency)]
        for d in report.days
    ]
    rows += [["total", "", "", "", money(t.amount, t.currency)] for t in report.totals]
    emit(as_json, report.raw, ["day", "model", "calls", "billable units", "cost"], lambda: rows,
         title=f"Usage {report.first_day} to {report.last_day}")  # fmt: skip


def _check_day(text: str) -> None:
    try:
        date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date (YYYY-MM-DD)") from None
