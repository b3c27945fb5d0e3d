"""Which payment gateway a profile gets: the simulated one when embedded (or when
AIMARKET_PAYMENTS=simulated), Stripe in the cluster (AIMARKET_PAYMENTS=stripe, the default
there). The stripe SDK is a cluster extra: imported only inside `payment_gateway`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from commands.event_store import EventStore
from commands.payment_ports import ChargeRecorder, PaymentGateway
from commands.provider_events import ProviderEvents, WebhookSecrets
from commands.subscriptions import SubscriptionCommands
from domain.clock import Clock
from infra.payments.shared_sim import SharedSimulatedGateway
from infra.payments.simulated import SimulatedGateway
from infra.resilience import BreakerRegistry, registry_for
from infra.settings import Settings, SettingsError
from projections.ports import ReadStore
from queries.subscriptions import SubscriptionQueries


def payments_mode(settings: Settings) -> str:
    if settings.payments is not None:
        return settings.payments
    return "stripe" if settings.profile == "cluster" else "simulated"


def payment_gateway(
    settings: Settings, clock: Clock, breakers: BreakerRegistry | None = None
) -> PaymentGateway:
    """One provider per deployment: in memory when embedded; in the cluster, the simulated
    provider keeps its state in a file of the data directory, so the API, the workers and
    a restarted worker see the same one, as they would see Stripe."""
    if payments_mode(settings) == "simulated":
        if settings.profile == "cluster":
            path = settings.data_dir / "payments" / "simulated.pickle"
            return cast(PaymentGateway, SharedSimulatedGateway(path, clock))
        return SimulatedGateway(clock)
    if settings.stripe_api_key is None:
        raise SettingsError(
            "Stripe payments need AIMARKET_STRIPE_API_KEY (and AIMARKET_STRIPE_WEBHOOK_SECRETS); "
            "`eval $(aimarket services env)` points them at stripe-mock, or set "
            "AIMARKET_PAYMENTS=simulated"
        )
    from infra.payments.stripe_gateway import StripeGateway

    return StripeGateway(
        settings.stripe_api_key.get_secret_value(),
        settings.stripe_api_base,
        clock,
        settings.stripe_timeout_s,
        breakers or registry_for(settings),
    )


@dataclass
class Payments:
    """The payment provider and what the API does with it (the container holds these)."""

    gateway: PaymentGateway
    provider_events: ProviderEvents
    subscriptions: SubscriptionCommands
    subscription_queries: SubscriptionQueries


def build_payments(
    settings: Settings,
    app: EventStore,
    store: ReadStore,
    clock: Clock,
    gateway: PaymentGateway,
    charges: ChargeRecorder,
) -> Payments:
    secrets = WebhookSecrets(
        settings.stripe_webhook_secret_list(), settings.stripe_webhook_tolerance_s
    )
    return Payments(
        gateway,
        ProviderEvents(app, clock, secrets, charges),
        SubscriptionCommands(app, gateway, clock),
        SubscriptionQueries(store),
    )
