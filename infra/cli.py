"""The `aimarket` command line."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from infra.cli_billing import billing
from infra.cli_common import load_settings
from infra.cli_pipeline import events, models, pipeline_commands, projections
from infra.cli_user import user_commands
from infra.services.cli import services_app
from infra.settings import Settings

app = typer.Typer(help="aimarket: an open AI model marketplace.", no_args_is_help=True)
users = typer.Typer(help="Operator commands on accounts.", no_args_is_help=True)
uploads = typer.Typer(help="Operator commands on artifact uploads.", no_args_is_help=True)
app.add_typer(users, name="users")
app.add_typer(uploads, name="uploads")
app.add_typer(services_app, name="services")
app.add_typer(events, name="events")
app.add_typer(projections, name="projections")
app.add_typer(models, name="models")
app.add_typer(billing, name="billing")
pipeline_commands(app)
user_commands(app, models)

Host = Annotated[str, typer.Option(help="Address to listen on.")]
Port = Annotated[int, typer.Option(help="Port to listen on.")]


def _serve(settings: Settings, host: str, port: int, with_runner: bool = False) -> None:
    import uvicorn

    from infra.bootstrap import build_container
    from infra.http.app import create_app
    from infra.logs import configure_logging, secrets_of
    from infra.tracing import configure_tracing

    configure_logging(settings.log_level, secrets_of(settings))
    configure_tracing(settings, "api")
    settings = settings.serving_on(host, port)
    container = build_container(settings)
    if with_runner:
        container.start_runner()
    typer.echo(f"aimarket ({settings.profile} profile) on http://{host}:{port}")
    typer.echo(f"  API docs: http://{host}:{port}/docs   data: {settings.data_dir.resolve()}")
    typer.echo(f"  emails (verification links): {_where_emails_go(settings)}")
    typer.echo(f"  links name: {settings.public_base_url}")
    try:
        uvicorn.run(create_app(container), **_server_options(settings, host, port))
    finally:
        container.close()


def _where_emails_go(settings: Settings) -> str:
    if settings.smtp_host:
        return f"SMTP {settings.smtp_host}:{settings.smtp_port}"
    return f"{(settings.data_dir / 'outbox').resolve()}/*.eml"


@app.command()
def run(host: Host = "127.0.0.1", port: Port = 8000) -> None:
    """Run the marketplace on the embedded profile: API and in-process workers, data in ./var/."""
    _serve(load_settings(profile="embedded"), host, port, with_runner=True)


@app.command()
def api(
    host: Host = "127.0.0.1",
    port: Port = 8000,
    workers: Annotated[int, typer.Option(min=1, help="uvicorn worker processes.")] = 1,
) -> None:
    """Run the HTTP API only, on the profile the environment chooses (cluster in production)."""
    if workers == 1:
        _serve(load_settings(), host, port)
        return
    _serve_workers(load_settings(), host, port, workers)


def _serve_workers(settings: Settings, host: str, port: int, workers: int) -> None:
    """Several worker processes, each building its app from the environment
    (infra/http/asgi.py); their metrics are summed through one multiprocess directory."""
    import os

    import uvicorn

    from infra.metrics_export import prepare_multiprocess_dir

    os.environ.setdefault(
        "AIMARKET_PUBLIC_BASE_URL", settings.serving_on(host, port).public_base_url
    )
    prepare_multiprocess_dir(settings.data_dir)
    typer.echo(f"aimarket ({settings.profile} profile) on http://{host}:{port}, {workers} workers")
    uvicorn.run(
        "infra.http.asgi:from_environment",
        factory=True,
        workers=workers,
        **_server_options(settings, host, port),
    )


def _server_options(settings: Settings, host: str, port: int) -> dict[str, Any]:
    """uvicorn's options for our API, one worker or several."""
    from infra.http.lean_body import LeanBodyProtocol

    trusted = settings.trusted_proxies.strip()
    return {
        "host": host,
        "port": port,
        "http": LeanBodyProtocol,
        "log_config": None,
        "access_log": False,
        # X-Forwarded-For is believed only from the proxies the settings name (uvicorn
        # would otherwise trust it from 127.0.0.1, and the login limits key on it).
        "proxy_headers": bool(trusted),
        "forwarded_allow_ips": trusted or None,
    }


@users.command("set-role")
def set_role(email: str, role: str) -> None:
    """Give the account with EMAIL a ROLE (publisher, consumer, admin), e.g. the first admin."""
    from domain.user import parse_role
    from infra.bootstrap import build_container

    container = build_container(load_settings())
    try:
        # Normalised there, for every caller.
        user = container.account_commands.find_user_by_email(email)
        if user is None:
            raise typer.BadParameter(f"no account with email {email}; register it first")
        container.auth.change_role(user.id, parse_role(role))
        typer.echo(f"{email} is now {role}")
    finally:
        container.close()


@uploads.command("sweep")
def sweep_uploads(
    grace_s: Annotated[int, typer.Option(help="Leave uploads expired less than this ago.")] = 3600,
) -> None:
    """Fail expired uploads and delete staged parts nothing needs any more (run hourly)."""
    from infra.bootstrap import build_container

    container = build_container(load_settings())
    try:
        dropped = container.uploads.sweep(grace_s)
        typer.echo(f"dropped the staged parts of {dropped} upload(s)")
    finally:
        container.close()


def main() -> None:
    app()
