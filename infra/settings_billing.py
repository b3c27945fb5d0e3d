"""The settings of billing: the purchase saga's timings. A part of `Settings`
(infra/settings.py), kept apart as infra/settings_serving.py is; the variables are the
same AIMARKET_* ones."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings


class BillingSettings(BaseSettings):
    # The purchase saga (commands/purchase_saga.py, workers/purchases.py)
    purchase_pending_timeout_s: float = Field(
        default=60.0, gt=0, description="a payment processing this long is asked about"
    )
    purchase_sweep_interval_s: float = Field(
        default=5.0, gt=0, description="how often open purchases are advanced again"
    )
