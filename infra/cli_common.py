"""What every `aimarket` subcommand shares: settings that fail politely."""

from __future__ import annotations

import typer
from pydantic import ValidationError

from infra.settings import Settings, SettingsError


def load_settings(**overrides: str) -> Settings:
    """Settings from the environment; a bad one ends the command with what to set, and
    without echoing the values (a database URL may hold a password)."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        for problem in error.errors():
            where = ".".join(str(p) for p in problem["loc"]) or "settings"
            typer.echo(f"configuration error ({where}): {problem['msg']}", err=True)
        raise typer.Exit(2) from None


def require_cluster(settings: Settings, command: str) -> str:
    """The Kafka bootstrap servers, for commands that only exist in the cluster profile."""
    if settings.profile != "cluster":
        typer.echo(
            f"`aimarket {command}` runs in the cluster profile: set AIMARKET_PROFILE=cluster "
            "(the embedded profile projects inside `aimarket run`)",
            err=True,
        )
        raise typer.Exit(2)
    try:
        return settings.require_kafka()
    except SettingsError as error:
        typer.echo(f"configuration error: {error}", err=True)
        raise typer.Exit(2) from None
