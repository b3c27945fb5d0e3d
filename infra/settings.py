"""Settings, from the environment only (prefix AIMARKET_), validated once at start."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MIN_SECRET_LENGTH = 32


class SettingsError(ValueError):
    """The configuration cannot work; the message says which variable to set."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AIMARKET_", extra="ignore")

    profile: Literal["embedded", "cluster"] = "embedded"
    data_dir: Path = Path("var")
    database_url: str | None = Field(
        default=None, description="PostgreSQL URL for the event store (cluster profile)"
    )
    jwt_secret: SecretStr | None = None
    access_token_ttl_s: int = Field(default=900, gt=0)
    refresh_token_ttl_s: int = Field(default=30 * 24 * 3600, gt=0)
    verify_email_ttl_s: int = Field(default=24 * 3600, gt=0)
    login_attempts_per_minute: int = Field(default=10, gt=0)
    max_body_bytes: int = Field(default=1024 * 1024, gt=0)
    auth_cache_ttl_s: float = Field(default=2.0, ge=0)
    public_base_url: str = "http://127.0.0.1:8000"
    argon2_time_cost: int = Field(default=3, ge=1)
    argon2_memory_kib: int = Field(default=64 * 1024, ge=8)
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_sender: str = "aimarket <no-reply@aimarket.local>"
    log_level: str = "INFO"

    @model_validator(mode="after")
    def _cluster_needs_real_settings(self) -> Settings:
        if self.profile != "cluster":
            return self
        if not self.database_url:
            raise SettingsError("the cluster profile needs AIMARKET_DATABASE_URL (PostgreSQL)")
        secret = self.jwt_secret.get_secret_value() if self.jwt_secret else ""
        if len(secret) < MIN_SECRET_LENGTH:
            raise SettingsError(
                f"the cluster profile needs AIMARKET_JWT_SECRET of at least {MIN_SECRET_LENGTH} "
                "random characters; make one with "
                "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`"
            )
        return self

    def signing_secret(self) -> str:
        """The configured secret; embedded only: made once and kept in the data directory."""
        if self.jwt_secret is not None:
            return self.jwt_secret.get_secret_value()
        path = self.data_dir / "secret.key"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()
