"""`aimarket services ...`: install, start, check and stop the real services."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from infra.services.base import ServiceError
from infra.services.manager import ServiceManager

services_app = typer.Typer(
    name="services",
    help="Real PostgreSQL, Redis, Kafka, FerretDB, OpenSearch, Triton and stripe-mock, "
    "installed and run by the project itself (no Docker).",
    no_args_is_help=True,
    add_completion=False,
)

Names = Annotated[list[str] | None, typer.Argument(help="Services (default: all).")]
StartedFile = Annotated[
    Path | None,
    typer.Option(help="up: add the services it started to this file; down: stop only those."),
]


def _err(line: str) -> None:
    typer.echo(line, err=True)


def _fail(exc: ServiceError) -> typer.Exit:
    _err(f"error: {exc}")
    return typer.Exit(2)


@services_app.command()
def up(names: Names = None, started_file: StartedFile = None) -> None:
    """Install what is missing, start what is stopped, wait until each answers."""
    started = time.monotonic()
    manager = ServiceManager()
    try:
        failed = manager.up(names or [])
    except ServiceError as exc:
        raise _fail(exc) from exc
    finally:
        if started_file is not None and manager.started:
            started_file.parent.mkdir(parents=True, exist_ok=True)
            with started_file.open("a") as listing:
                listing.writelines(f"{name}\n" for name in manager.started)
    if failed:
        _err(f"failed: {', '.join(failed)} (see messages above)")
        raise typer.Exit(1)
    typer.echo(f"all up in {time.monotonic() - started:.1f}s")


@services_app.command()
def down(names: Names = None, started_file: StartedFile = None) -> None:
    """Stop the services (reverse start order); a stopped one is left alone."""
    if started_file is not None:
        # Stop only what a matching `up --started-file` started; leave the rest running.
        if not started_file.exists():
            return
        names = sorted(set(started_file.read_text().split()))
        started_file.unlink()
        if not names:
            return
    try:
        failed = ServiceManager().down(names or [])
    except ServiceError as exc:
        raise _fail(exc) from exc
    if failed:
        raise typer.Exit(1)


@services_app.command()
def status(names: Names = None) -> None:
    """Show port, state, pid and RSS of each service, and the env the app reads."""
    try:
        ServiceManager().status(names or [])
    except ServiceError as exc:
        raise _fail(exc) from exc


@services_app.command()
def logs(
    name: Annotated[str, typer.Argument(help="The service whose log to show.")],
    lines: Annotated[int, typer.Option("-n", "--lines", help="How many lines.")] = 50,
) -> None:
    """Print the last lines of a service's log."""
    manager = ServiceManager()
    try:
        text = manager.logs(name, lines)
    except ServiceError as exc:
        raise _fail(exc) from exc
    if not text:
        _err(f"no log yet at {manager.ctx.log_file(name)}")
    else:
        typer.echo(text)


@services_app.command()
def env(names: Names = None) -> None:
    """Print `export AIMARKET_...=...` lines: eval $(aimarket services env)."""
    try:
        lines = ServiceManager(out=_err).env_lines(names or [], on_error=_err)
    except ServiceError as exc:
        raise _fail(exc) from exc
    sys.stdout.write("".join(f"{line}\n" for line in lines))
