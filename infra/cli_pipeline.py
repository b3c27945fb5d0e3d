"""`aimarket relay | worker | status | events ... | projections ...`: the event pipeline."""

from __future__ import annotations

import json
import signal
import time
from typing import Annotated, Any
from uuid import UUID

import typer

from infra.cli_common import load_settings, require_cluster
from infra.settings import SettingsError

events = typer.Typer(
    help="Read the event store: history, past state, live tail.", no_args_is_help=True
)
projections = typer.Typer(
    help="Rebuild and verify read models from the event store.", no_args_is_help=True
)


def _stop_on_signals(stop: Any) -> None:
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop())


def relay_command() -> None:
    """Follow the event store and publish every event to Kafka, in order (cluster profile)."""
    from infra.pipeline import build_relay

    settings = load_settings()
    relay = build_relay(settings, require_cluster(settings, "relay"))
    _stop_on_signals(relay.stopping.set)
    typer.echo(f"relay: publishing from position {relay.ledger.position()}", err=True)
    relay.run_forever()


def worker_command(
    kind: Annotated[str, typer.Argument(help="projections or partner-feed")],
) -> None:
    """Run a faust-streaming worker: `projections` (read models) or `partner-feed`."""
    import faust

    from infra.pipeline import build_worker_app

    settings = load_settings()
    bootstrap = require_cluster(settings, "worker")
    try:
        worker_app = build_worker_app(settings, bootstrap, kind)
    except KeyError as error:
        raise typer.BadParameter(str(error)) from None
    except SettingsError as error:
        typer.echo(f"configuration error: {error}", err=True)
        raise typer.Exit(2) from None
    faust.Worker(worker_app, loglevel="warning").execute_from_commandline()


def status_command() -> None:
    """Where the pipeline stands: event store, relay, and every read model's lag."""
    from infra.pipeline import pipeline_status

    typer.echo(json.dumps(pipeline_status(load_settings()), indent=2))


def pipeline_commands(app: typer.Typer) -> None:
    app.command("relay")(relay_command)
    app.command("worker")(worker_command)
    app.command("status")(status_command)


@events.command("show")
def show(aggregate_id: UUID) -> None:
    """Every event of one aggregate, oldest first, as JSON lines."""
    from infra.pipeline import event_store

    for item in event_store(load_settings()).events(aggregate_id, limit=1_000_000):
        typer.echo(json.dumps(item))


@events.command("state")
def state(aggregate_id: UUID, version: Annotated[int | None, typer.Option()] = None) -> None:
    """The aggregate's state now, or as it was at --version N."""
    from infra.pipeline import event_store

    typer.echo(json.dumps(event_store(load_settings()).state(aggregate_id, version), indent=2))


@events.command("tail")
def tail(
    after: Annotated[
        int | None, typer.Option(help="Start after this position (default: now)")
    ] = None,
) -> None:
    """Print new events as they are stored, like `tail -f` (Ctrl-C stops)."""
    from infra.pipeline import marketplace
    from workers.notifications import last_position, read_after

    app = marketplace(load_settings())
    position = last_position(app) if after is None else after
    while True:
        batch = read_after(app, position, 500)
        for position, envelope in batch:
            typer.echo(json.dumps({"position": position, **envelope}))
        if not batch:
            time.sleep(0.2)


@projections.command("rebuild")
def rebuild(name: Annotated[str, typer.Argument(help="a read model, or all")]) -> None:
    """Replay the event store into fresh copies, then swap them in (resumable)."""
    from infra.pipeline import read_side_for_cli
    from workers.rebuild import known
    from workers.rebuild import rebuild as run_rebuild

    app, store, search, _ = read_side_for_cli(load_settings())
    for model in _known(known, name):
        with typer.progressbar(length=1, label=f"rebuilding {model}", show_eta=True) as bar:
            result = run_rebuild(app, store, search, model, _advance(bar))
        typer.echo(
            f"{model}: {result.events} events in {result.seconds:.1f}s "
            f"({result.events / max(result.seconds, 1e-9):.0f} events/s)"
        )


@projections.command("verify")
def verify(name: Annotated[str, typer.Argument(help="a read model, or all")]) -> None:
    """Rebuild into a scratch copy and diff it with the live one; exit 1 on differences."""
    from infra.pipeline import read_side_for_cli
    from workers.rebuild import known
    from workers.rebuild import verify as run_verify

    app, store, _, progress = read_side_for_cli(load_settings())
    failed = False
    for model in _known(known, name):
        with typer.progressbar(length=1, label=f"verifying {model}", show_eta=True) as bar:
            diff = run_verify(app, store, model, progress.reached, _advance(bar))
        typer.echo(f"{model}: {len(diff)} differences" + (f", e.g. {diff[:5]}" if diff else ""))
        failed = failed or bool(diff)
    raise typer.Exit(1 if failed else 0)


def _known(known: Any, name: str) -> list[str]:
    try:
        return list(known(name))
    except KeyError as error:
        raise typer.BadParameter(str(error)) from None


def _advance(bar: Any) -> Any:
    def report(position: int, end: int) -> None:
        bar.length = max(end, 1)
        bar.update(position - bar.pos)

    return report
