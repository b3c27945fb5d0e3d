"""The settings of billing: the payment provider, its webhooks, and (added by the other
billing changes) the ledger, metering and payouts. A part of `Settings`
(infra/settings.py); the variables are the same AIMARKET_* ones."""

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
