"""The settings of billing: usage metering's path in the cluster, pricing and budgets.
A part of `Settings` (infra/settings.py); the variables are the same AIMARKET_* ones."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings


class BillingSettings(BaseSettings):
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
