"""The settings of billing: a part of `Settings` (infra/settings.py), kept apart so each
file stays readable; the variables are the same AIMARKET_* ones."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings


class BillingSettings(BaseSettings):
    # The publishers' ledger (domain/ledger.py): the platform's cut of every charge.
    platform_fee_bps: int = Field(
        default=2000, ge=0, le=10_000, description="basis points of each charge; 2000 = 20%"
    )
