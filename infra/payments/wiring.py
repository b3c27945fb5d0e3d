"""Which payment gateway a profile gets: the simulated one when embedded (or when
AIMARKET_PAYMENTS=simulated), Stripe in the cluster (AIMARKET_PAYMENTS=stripe, the default
there). The stripe SDK is a cluster extra: imported only inside `payment_gateway`."""

from __future__ import annotations

from dataclasses import dataclass

from commands.event_store import EventStore
from commands.payment_ports import PaymentGateway
from commands.provider_events import ProviderEvents, WebhookSecrets
from commands.subscriptions import SubscriptionCommands
from domain.clock import Clock
from infra.payments.simulated import SimulatedGateway
from infra.settings import Settings, SettingsError
from projections.ports import ReadStore
from queries.subscriptions import SubscriptionQueries


def payments_mode(settings: Settings) -> str:
    if settings.payments is not None:
        return settings.payments
    return "stripe" if settings.profile == "cluster" else "simulated"


def payment_gateway(settings: Settings, clock: Clock) -> PaymentGateway:
    if payments_mode(settings) == "simulated":
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
    )


@dataclass
class Payments:
    """The payment provider and what the API does with it (the container holds these)."""

    gateway: PaymentGateway
    provider_events: ProviderEvents
    subscriptions: SubscriptionCommands
    subscription_queries: SubscriptionQueries


def build_payments(settings: Settings, app: EventStore, store: ReadStore, clock: Clock) -> Payments:
    gateway = payment_gateway(settings, clock)
    secrets = WebhookSecrets(
        settings.stripe_webhook_secret_list(), settings.stripe_webhook_tolerance_s
    )
    return Payments(
        gateway,
        ProviderEvents(app, clock, secrets),
        SubscriptionCommands(app, gateway, clock),
        SubscriptionQueries(store),
    )
