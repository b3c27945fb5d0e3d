"""Which payment gateway each profile gets, and the Stripe key the cluster needs."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from infra.clock import SystemClock
from infra.payments.simulated import SimulatedGateway
from infra.payments.wiring import payment_gateway
from infra.settings import Settings, SettingsError


def embedded(tmp_path: Path, **changes: object) -> Settings:
    return Settings(profile="embedded", data_dir=tmp_path).model_copy(update=changes)


def test_the_embedded_profile_gets_the_simulated_gateway(tmp_path: Path) -> None:
    assert isinstance(payment_gateway(embedded(tmp_path), SystemClock()), SimulatedGateway)


def test_stripe_payments_need_an_api_key(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="AIMARKET_STRIPE_API_KEY"):
        payment_gateway(embedded(tmp_path, payments="stripe"), SystemClock())


def test_stripe_payments_with_a_key_get_the_stripe_adapter(tmp_path: Path) -> None:
    settings = embedded(tmp_path, payments="stripe", stripe_api_key=SecretStr("sk_test_123"))
    assert type(payment_gateway(settings, SystemClock())).__name__ == "StripeGateway"


def test_webhook_secrets_are_a_comma_separated_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIMARKET_STRIPE_WEBHOOK_SECRETS", " whsec_old , whsec_new ,")
    assert Settings().stripe_webhook_secret_list() == ["whsec_old", "whsec_new"]
