"""The publishers' ledger, as the composition root and `aimarket billing` build it.

`ledger_gateway` stands in for `infra.payments.wiring.payment_gateway(settings, clock)`
until that lands: the simulated gateway on both profiles (in memory, so a payout from a
fresh process only means something in tests). Replace its one call with that function.
"""

from __future__ import annotations

from commands.event_store import EventStore
from commands.ledger import LedgerCommands
from commands.payment_ports import PaymentGateway
from domain.clock import Clock
from infra.payments.simulated import SimulatedGateway
from infra.settings import Settings


def ledger_gateway(settings: Settings, clock: Clock) -> PaymentGateway:
    return SimulatedGateway(clock)


def ledger_commands(
    settings: Settings, app: EventStore, clock: Clock, gateway: PaymentGateway | None = None
) -> LedgerCommands:
    gateway = gateway or ledger_gateway(settings, clock)
    return LedgerCommands(app, gateway, clock, settings.platform_fee_bps)
