"""`aimarket relay | worker | status | events ... | projections ...`: the event pipeline."""

from __future__ import annotations

import json
import signal
import time
from typing import Annotated, Any
from uuid import UUID

import typer

from infra.cli_common import load_settings, require_cluster
from infra.settings import Settings, SettingsError

events = typer.Typer(
    help="Read the event store: history, past state, live tail.", no_args_is_help=True
)
projections = typer.Typer(
    help="Rebuild and verify read models from the event store.", no_args_is_help=True
)
models = typer.Typer(help="Operator commands on the model catalogue.", no_args_is_help=True)


def _stop_on_signals(stop: Any) -> None:
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop())


def _serve_metrics(settings: Settings, role: str) -> None:
    """This process's metrics on a port of its own, when AIMARKET_METRICS_PORT is set."""
    from infra.metrics_export import serve_process_metrics

    try:
        address = serve_process_metrics(settings)
    except OSError as error:  # the port is taken: say which setting, not a traceback
        typer.echo(f"configuration error (AIMARKET_METRICS_PORT): {error}", err=True)
        raise typer.Exit(2) from None
    if address is not None:
        typer.echo(f"{role}: metrics on http://{address}/metrics", err=True)


def relay_command() -> None:
    """Follow the event store and publish every event to Kafka, in order (cluster profile)."""
    from infra.bootstrap import build_relay
    from infra.tracing import configure_tracing

    settings = load_settings()
    configure_tracing(settings, "relay")
    _serve_metrics(settings, "relay")
    relay = build_relay(settings, require_cluster(settings, "relay"))
    _stop_on_signals(relay.stopping.set)
    typer.echo(f"relay: publishing from position {relay.ledger.position()}", err=True)
    relay.run_forever()


def worker_command(
    kind: Annotated[
        str,
        typer.Argument(
            help="projections, partner-feed, inference, purchases, stats, webhooks, deployer, "
            "metering, billing or notifier"
        ),
    ],
) -> None:
    """Run a worker: `projections` (read models), `partner-feed`, `inference` (async
    jobs) or `purchases` (the purchase saga; faust-streaming), `stats` (rolls usage and
    ratings up into each model's figures),
    `webhooks` (sends due webhook deliveries from PostgreSQL), `deployer` (puts published
    versions on Triton), `metering` (usage from Kafka into the ledger and
    the billing usage; the ledger rolled up into the Usage aggregates) or `billing` (closes
    each billing month once it has ended: invoices to the payment provider) or `notifier`
    (emails, account webhooks and the in-app list from account events)."""
    from infra.tracing import configure_tracing

    settings = load_settings()
    bootstrap = require_cluster(settings, "worker")
    configure_tracing(settings, f"worker-{kind}")
    _serve_metrics(settings, f"{kind} worker")
    if kind == "stats":  # not a Kafka consumer: it follows the event store, like the relay
        _run_stats_worker(settings)
        return
    if kind == "webhooks":  # not a Kafka consumer: it polls the deliveries table
        _run_webhooks_worker(settings)
        return
    if kind == "deployer":  # the same: it follows the event store
        _run_deployer_worker(settings)
        return
    if kind == "billing":  # not a Kafka consumer: it closes each month once it has ended
        _run_period_closer(settings)
        return
    if kind == "metering" and settings.usage_sink == "ledger":  # the ledger only: no Kafka
        _run_metering_worker(settings)
        return
    import faust

    # Before any thread starts: two threads defining aggregate classes at once broke
    # eventsourcing's class set-up ("dictionary changed size during iteration").
    from infra.bootstrap import build_worker_app

    if kind == "metering":  # the roll-up in a thread; usage from Kafka in the faust agent
        _start_rollup(settings)

    try:
        worker_app = build_worker_app(settings, bootstrap, kind)
    except KeyError as error:
        raise typer.BadParameter(str(error)) from None
    except SettingsError as error:
        typer.echo(f"configuration error: {error}", err=True)
        raise typer.Exit(2) from None
    faust.Worker(worker_app, loglevel="warning").execute_from_commandline()


def _run_period_closer(settings: Settings) -> None:
    from infra.billing_wiring import standalone_invoices
    from infra.clock import SystemClock
    from workers.period_closer import PeriodCloser

    clock = SystemClock()
    invoices, close = standalone_invoices(settings, clock)
    closer = PeriodCloser(
        invoices, clock, settings.billing_close_grace_s, settings.billing_close_check_s
    )
    _stop_on_signals(closer.stopping.set)
    typer.echo(f"billing worker: closes {closer.due()} and each month after", err=True)
    try:
        closer.run_forever()
    finally:
        close()


def _run_stats_worker(settings: Settings) -> None:
    from commands.model_stats import ModelStats
    from infra.bootstrap import read_side_for_cli
    from infra.clock import SystemClock
    from workers.stats_worker import StatsWorker

    app, store, _, progress = read_side_for_cli(settings)
    worker = StatsWorker(app, store, progress, ModelStats(app, store, SystemClock()))
    _stop_on_signals(worker.stopping.set)
    typer.echo(f"stats worker: following from position {worker.position()}", err=True)
    worker.run_forever()


def _run_webhooks_worker(settings: Settings) -> None:
    from infra.clock import SystemClock
    from infra.jobs.wiring import build_webhooks
    from infra.stores import postgres_pool

    closers: list[Any] = []
    webhooks = build_webhooks(settings, postgres_pool(settings, closers), SystemClock(), closers)
    _stop_on_signals(webhooks.dispatcher.stop)
    typer.echo("webhooks worker: sending due deliveries", err=True)
    try:
        webhooks.dispatcher.run_forever()
    finally:
        for close in reversed(closers):
            close()


def _run_deployer_worker(settings: Settings) -> None:
    from infra.inference.wiring import deployer_worker_for_cli

    try:
        worker = deployer_worker_for_cli(settings)
    except SettingsError as error:
        typer.echo(f"configuration error: {error}", err=True)
        raise typer.Exit(2) from None
    _stop_on_signals(worker.stopping.set)
    typer.echo(f"deployer: following from position {worker.position()}", err=True)
    worker.run_forever()


def _run_metering_worker(settings: Settings) -> None:
    from infra.usage.wiring import build_metering_worker

    runner = build_metering_worker(settings)
    _stop_on_signals(runner.stopping.set)
    typer.echo("metering worker: rolling usage up into the Usage aggregates", err=True)
    runner.run_forever()


def _start_rollup(settings: Settings) -> None:
    from infra.usage.wiring import build_metering_worker

    build_metering_worker(settings).start()  # a daemon thread: it ends with the worker


def status_command() -> None:
    """Where the pipeline stands: event store, relay, and every read model's lag."""
    from infra.bootstrap import pipeline_status

    typer.echo(json.dumps(pipeline_status(load_settings()), indent=2))


def pipeline_commands(app: typer.Typer) -> None:
    app.command("relay")(relay_command)
    app.command("worker")(worker_command)
    app.command("status")(status_command)


@models.command("refresh-stats")
def refresh_stats(
    model_ids: Annotated[list[UUID] | None, typer.Argument(help="models to refresh")] = None,
    everything: Annotated[
        bool, typer.Option("--all", help="every model with any usage or review")
    ] = False,
) -> None:
    """Recompute models' usage and rating figures. No arguments: every model used in the
    last 15 days (the daily window shift, e.g. from cron)."""
    from commands.model_stats import ModelStats
    from infra.bootstrap import read_side_for_cli
    from infra.clock import SystemClock

    if model_ids and everything:
        raise typer.BadParameter("give model ids or --all, not both")
    app, store, _, _ = read_side_for_cli(load_settings())
    stats = ModelStats(app, store, SystemClock())
    changed = stats.refresh(model_ids) if model_ids else stats.refresh_all(everything)
    typer.echo(f"figures changed for {changed} model{'' if changed == 1 else 's'}")


@events.command("show")
def show(aggregate_id: UUID) -> None:
    """Every event of one aggregate, oldest first, as JSON lines."""
    from infra.bootstrap import audit_queries

    for item in audit_queries(load_settings()).events(aggregate_id, limit=1_000_000):
        typer.echo(json.dumps(item))


@events.command("state")
def state(aggregate_id: UUID, version: Annotated[int | None, typer.Option()] = None) -> None:
    """The aggregate's state now, or as it was at --version N."""
    from infra.bootstrap import audit_queries

    typer.echo(json.dumps(audit_queries(load_settings()).state(aggregate_id, version), indent=2))


@events.command("tail")
def tail(
    after: Annotated[
        int | None, typer.Option(help="Start after this position (default: now)")
    ] = None,
) -> None:
    """Print new events as they are stored, like `tail -f` (Ctrl-C stops)."""
    from infra.stores import open_marketplace
    from workers.notifications import last_position, read_after

    app = open_marketplace(load_settings())
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
    from infra.bootstrap import read_side_for_cli
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
    """Rebuild into a scratch copy and diff it with the live one, and the search indexes fed
    from it with the live one; exit 1 on differences."""
    from infra.bootstrap import read_side_for_cli
    from workers.rebuild import known
    from workers.rebuild import verify as run_verify

    app, store, search, progress = read_side_for_cli(load_settings())
    failed = False
    for model in _known(known, name):
        with typer.progressbar(length=1, label=f"verifying {model}", show_eta=True) as bar:
            diff = run_verify(app, store, model, progress.reached, _advance(bar), search=search)
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
