"""The publishers' ledger, as the composition root and `aimarket billing` build it, on
the profile's payment gateway (payouts are its transfers)."""

from __future__ import annotations

from commands.event_store import EventStore
from commands.ledger import LedgerCommands
from commands.payment_ports import PaymentGateway
from domain.clock import Clock
from infra.payments.wiring import payment_gateway
from infra.settings import Settings


def ledger_commands(
    settings: Settings, app: EventStore, clock: Clock, gateway: PaymentGateway | None = None
) -> LedgerCommands:
    gateway = gateway or payment_gateway(settings, clock)
    return LedgerCommands(app, gateway, clock, settings.platform_fee_bps)
