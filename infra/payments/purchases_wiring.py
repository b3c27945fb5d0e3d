"""How payment methods, purchases and the purchase saga are put together for a profile.

The gateway is the profile's (infra/payments/wiring.py `payment_gateway`), handed in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from commands.event_store import EventStore
from commands.models import ModelCommands
from commands.paid_access import PurchasedAccess
from commands.payment_methods import PaymentMethods
from commands.payment_ports import ChargeRecorder, PaymentGateway
from commands.purchase_saga import PurchaseSaga
from commands.purchases import PurchaseCommands
from domain.clock import Clock
from infra.metrics import observe_saga_outcome
from infra.settings import Settings
from projections.ports import ReadStore
from queries.purchases import PurchaseQueries
from workers.follower import LogFollower
from workers.purchases import Sweep, embedded_runner

if TYPE_CHECKING:
    import faust


@dataclass
class PurchaseSide:
    gateway: PaymentGateway
    payment_methods: PaymentMethods
    purchases: PurchaseCommands
    purchase_queries: PurchaseQueries
    saga: PurchaseSaga
    paid_access: PurchasedAccess
    runner: LogFollower | None = field(default=None)  # embedded: the saga in process


def purchase_side(
    settings: Settings,
    app: EventStore,
    models: ModelCommands,
    store: ReadStore,
    clock: Clock,
    gateway: PaymentGateway,
    recorder: ChargeRecorder,
) -> PurchaseSide:
    methods = PaymentMethods(app, gateway)
    saga = PurchaseSaga(
        app, gateway, methods, clock, recorder, settings.purchase_pending_timeout_s,
        on_final=observe_saga_outcome,
    )  # fmt: skip
    side = PurchaseSide(
        gateway,
        methods,
        PurchaseCommands(app, models, methods, clock),
        PurchaseQueries(store),
        saga,
        PurchasedAccess(app, clock),
    )
    if settings.profile == "embedded":
        side.runner = embedded_runner(app, store, saga, settings.purchase_sweep_interval_s)
        app.on_saved.append(side.runner.nudge)
    return side


def purchase_worker_app(settings: Settings, bootstrap: str) -> faust.App:
    """`aimarket worker purchases`: the saga on the purchase events, with its sweep."""
    from infra.clock import SystemClock
    from infra.cluster import cluster_read_stores
    from infra.ledger_wiring import ledger_commands
    from infra.payments.wiring import payment_gateway
    from infra.stores import open_marketplace
    from workers.purchase_app import make_purchase_app

    clock, app = SystemClock(), open_marketplace(settings)
    store, _ = cluster_read_stores(settings)
    gateway = payment_gateway(settings, clock)
    ledger = ledger_commands(settings, app, clock, gateway)
    models = ModelCommands(app, clock)
    side = purchase_side(settings, app, models, store, clock, gateway, ledger)
    sweep = Sweep(side.saga, side.purchase_queries, settings.purchase_sweep_interval_s)
    return make_purchase_app(
        bootstrap,
        side.saga,
        sweep,
        f"{settings.worker_group}-purchases",
        settings.event_topic_prefix,
        datadir=settings.data_dir / "faust",
    )
