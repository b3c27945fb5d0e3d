from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from infra.settings import Settings
from infra.stores import postgres_env


def test_embedded_profile_makes_and_keeps_its_signing_secret(tmp_path: Path) -> None:
    first = Settings(data_dir=tmp_path).signing_secret()
    assert len(first) >= 32
    assert Settings(data_dir=tmp_path).signing_secret() == first
    assert (tmp_path / "secret.key").stat().st_mode & 0o777 == 0o600


CLUSTER_URLS = {
    "database_url": "postgresql://u:p@h/db",
    "mongo_url": "mongodb://h:1/",
    "opensearch_url": "http://h:2",
}


def test_cluster_profile_refuses_to_start_without_a_real_secret() -> None:
    with pytest.raises(ValidationError, match="AIMARKET_JWT_SECRET"):
        Settings(profile="cluster", **CLUSTER_URLS)
    with pytest.raises(ValidationError, match="AIMARKET_JWT_SECRET"):
        Settings(profile="cluster", jwt_secret="short", **CLUSTER_URLS)
    assert Settings(profile="cluster", jwt_secret="x" * 40, **CLUSTER_URLS).profile == "cluster"


@pytest.mark.parametrize("missing", sorted(CLUSTER_URLS))
def test_cluster_profile_needs_every_store(missing: str) -> None:
    urls = {k: v for k, v in CLUSTER_URLS.items() if k != missing}
    with pytest.raises(ValidationError, match=f"AIMARKET_{missing.upper()}"):
        Settings(profile="cluster", jwt_secret="x" * 40, **urls)


def test_partner_feed_key_is_required_and_long(monkeypatch: pytest.MonkeyPatch) -> None:
    from infra.settings import SettingsError

    with pytest.raises(SettingsError, match="AIMARKET_PARTNER_FEED_KEY"):
        Settings().partner_feed_secret()
    monkeypatch.setenv("AIMARKET_PARTNER_FEED_KEY", "k" * 40)
    assert Settings().partner_feed_secret() == b"k" * 40


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIMARKET_ACCESS_TOKEN_TTL_S", "60")
    monkeypatch.setenv("AIMARKET_MAX_BODY_BYTES", "1000")
    settings = Settings()
    assert (settings.access_token_ttl_s, settings.max_body_bytes) == (60, 1000)


def test_postgres_url_becomes_eventsourcing_settings() -> None:
    env = postgres_env("postgresql://ai%40m:p%2Fw@db.local:6543/events")
    assert env["POSTGRES_USER"] == "ai@m" and env["POSTGRES_PASSWORD"] == "p/w"
    assert (env["POSTGRES_HOST"], env["POSTGRES_PORT"], env["POSTGRES_DBNAME"]) == (
        "db.local",
        "6543",
        "events",
    )
    with pytest.raises(ValueError):
        postgres_env("mysql://x/y")
