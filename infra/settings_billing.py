"""The settings of billing: the payment provider and its webhooks, usage metering and
budgets, the ledger. A part of `Settings` (infra/settings.py); the variables are the same
AIMARKET_* ones."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings


class BillingSettings(BaseSettings):
    # The payment provider (infra/payments/): Stripe in the cluster, simulated when embedded
    payments: Literal["simulated", "stripe"] | None = Field(
        default=None,
        description="the payment gateway; default: simulated when embedded, stripe in the "
        "cluster profile",
    )
    stripe_api_base: str = Field(
        default="https://api.stripe.com", description="stripe-mock's address in tests"
    )
    stripe_api_key: SecretStr | None = Field(default=None, description="sk_live_... or sk_test_...")
    stripe_timeout_s: float = Field(default=10.0, gt=0, description="each call to Stripe")
    stripe_webhook_secrets: str = Field(
        default="",
        description="comma-separated whsec_... secrets; during a rotation, the old and new one",
    )
    stripe_webhook_tolerance_s: int = Field(
        default=300, gt=0, description="the oldest signed timestamp a webhook may carry"
    )
    stripe_webhook_max_bytes: int = Field(
        default=256 * 1024, gt=0, description="the largest webhook body accepted"
    )

    def stripe_webhook_secret_list(self) -> list[str]:
        return [s.strip() for s in self.stripe_webhook_secrets.split(",") if s.strip()]

    # Usage records (commands/usage_events.py): cluster API processes produce them to Kafka
    # for `aimarket worker metering`; "ledger" writes the PostgreSQL ledger directly
    # (no pricing then: for a cluster without the worker, and the older tests).
    usage_sink: Literal["kafka", "ledger"] = "kafka"
    usage_topic: str = Field(default="aimarket.usage", pattern=r"^[A-Za-z0-9._-]+$")
    usage_topic_retention_ms: int = Field(default=7 * 24 * 3600 * 1000, ge=60_000)
    billing_pricing_batch: int = Field(default=1000, gt=0, description="records priced at once")
    billing_pricing_idle_s: float = Field(default=0.5, gt=0, description="embedded pricer wait")
    budget_cache_ttl_s: float = Field(default=30.0, ge=0, description="caps held in memory")
    budget_spend_ttl_s: float = Field(
        default=30.0, ge=0, description="spend seeded from billing usage, then moved on in memory"
    )
    # The publishers' ledger (domain/ledger.py): the platform's cut of every charge.
    platform_fee_bps: int = Field(
        default=2000, ge=0, le=10_000, description="basis points of each charge; 2000 = 20%"
    )
    # The purchase saga (commands/purchase_saga.py, workers/purchases.py)
    purchase_pending_timeout_s: float = Field(
        default=60.0, gt=0, description="a payment processing this long is asked about"
    )
    purchase_sweep_interval_s: float = Field(
        default=5.0, gt=0, description="how often open purchases are advanced again"
    )
    # Period close (commands/invoicing.py, workers/period_closer.py)
    billing_close_grace_s: float = Field(
        default=3600.0, ge=0, description="a month is closed this long after it ends"
    )
    billing_close_check_s: float = Field(
        default=300.0, gt=0, description="how often the closer looks for a month to close"
    )
