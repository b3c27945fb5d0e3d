"""Settings, from the environment only (prefix AIMARKET_), validated once at start."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from domain.upload import MAX_PARTS
from infra.settings_billing import BillingSettings
from infra.settings_gateway import GatewaySettings
from infra.settings_observability import ObservabilitySettings
from infra.settings_resilience import ResilienceSettings
from infra.settings_serving import MiB, ServingSettings

MIN_SECRET_LENGTH = 32
GiB = 1024 * MiB
DEFAULT_BASE_URL = "http://127.0.0.1:8000"


class SettingsError(ValueError):
    """The configuration cannot work; the message says which variable to set."""


class Settings(
    ServingSettings, BillingSettings, ResilienceSettings, ObservabilitySettings, GatewaySettings
):
    """All of them; those of serving model calls are in infra/settings_serving.py, those
    of billing in infra/settings_billing.py, the gateway's in infra/settings_gateway.py,
    tracing and the workers' metrics port in infra/settings_observability.py."""

    model_config = SettingsConfigDict(env_prefix="AIMARKET_", extra="ignore")

    profile: Literal["embedded", "cluster"] = "embedded"
    data_dir: Path = Path("var")
    database_url: str | None = Field(
        default=None, description="PostgreSQL URL for the event store (cluster profile)"
    )
    postgres_pool_size: int = Field(
        default=10, gt=0, description="most connections of each PostgreSQL pool of a process"
    )
    mongo_url: str | None = Field(default=None, description="read models (cluster profile)")
    mongo_database: str = "aimarket"
    opensearch_url: str | None = Field(default=None, description="search (cluster profile)")
    search_prefix: str = "aimarket"
    opensearch_timeout_s: float = Field(default=5.0, gt=0, description="per search request")
    kafka_bootstrap_servers: str | None = None
    event_topic_prefix: str = Field(default="aimarket.events.", pattern=r"^[A-Za-z0-9._-]+$")
    event_partitions: int = Field(default=6, ge=1, le=256)
    event_retention_ms: int = Field(default=7 * 24 * 3600 * 1000, ge=60_000)
    jwt_secret: SecretStr | None = None
    partner_feed_key: SecretStr | None = Field(
        default=None, description="HMAC key of the partner feed's pseudonymous ids"
    )
    access_token_ttl_s: int = Field(default=900, gt=0)
    refresh_token_ttl_s: int = Field(default=30 * 24 * 3600, gt=0)
    verify_email_ttl_s: int = Field(default=24 * 3600, gt=0)
    login_attempts_per_minute: int = Field(
        default=10, gt=0, description="login attempts per email per minute"
    )
    login_attempts_per_client_per_minute: int = Field(
        default=30, gt=0, description="login attempts per client address per minute, any email"
    )
    trusted_proxies: str = Field(
        default="",
        description="comma-separated proxy addresses whose X-Forwarded-For is believed; "
        "empty: the client address is the connection's own",
    )
    max_body_bytes: int = Field(default=1024 * 1024, gt=0)
    auth_cache_ttl_s: float = Field(default=2.0, ge=0)
    public_base_url: str = Field(
        default=DEFAULT_BASE_URL,
        description="the scheme, host and port links in emails and download URLs name; "
        "unset, `aimarket run`/`aimarket api` use the address they listen on",
    )
    argon2_time_cost: int = Field(default=3, ge=1)
    argon2_memory_kib: int = Field(default=64 * 1024, ge=8)
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_sender: str = "aimarket <no-reply@aimarket.local>"
    log_level: str = "INFO"
    worker_group: str = Field(default="aimarket-projections", description="faust app id")
    # Model artifacts (infra/blobs.py, infra/staging.py, commands/uploads.py)
    max_upload_bytes: int = Field(default=2 * GiB, gt=0, description="largest artifact")
    upload_part_bytes: int = Field(
        # 16 MiB: a 2 GiB artifact in 128 requests; each costs ~3 ms of server CPU besides
        # its bytes (docs/BENCHMARKS.md, "Upload throughput").
        default=16 * MiB,
        gt=0,
        description="default and largest part of a chunked upload",
    )
    upload_min_part_bytes: int = Field(
        default=1024, gt=0, description="smallest part size a client may ask for"
    )
    upload_ttl_s: int = Field(default=24 * 3600, gt=0, description="an unfinished upload's life")
    blob_dir: Path | None = Field(default=None, description="default <data_dir>/blobs")
    download_url_ttl_s: int = Field(default=600, gt=0, description="life of a signed URL")
    # Validation and conversion of uploads, in a child process (infra/sandbox.py)
    validation_memory_bytes: int = Field(
        default=2 * GiB, ge=64 * MiB, description="a validator's address space, plus per byte"
    )
    validation_memory_per_byte: int = Field(
        default=4, ge=0, description="more address space per byte of the artifact"
    )
    validation_cpu_s: int = Field(default=300, gt=0, description="a validator's CPU time")
    validation_timeout_s: float = Field(default=600, gt=0, description="its wall-clock time")
    validation_concurrency: int = Field(default=2, gt=0, description="validators at once")
    validation_queue_wait_s: float = Field(
        default=30, ge=0, description="wait for a free validator before answering 503"
    )
    validation_max_nodes: int = Field(default=1_000_000, gt=0, description="nodes in a model")
    validation_max_expanded_bytes: int = Field(
        default=256 * MiB,
        ge=0,
        description="bytes a model's tensors may declare beyond those the file holds",
    )

    @model_validator(mode="after")
    def _cluster_needs_real_settings(self) -> Settings:
        if self.profile != "cluster":
            return self
        for name in ("database_url", "mongo_url", "opensearch_url"):
            if not getattr(self, name):
                raise SettingsError(
                    f"the cluster profile needs AIMARKET_{name.upper()}; "
                    "`eval $(aimarket services env)` sets all of them for the local services"
                )
        secret = self.jwt_secret.get_secret_value() if self.jwt_secret else ""
        if len(secret) < MIN_SECRET_LENGTH:
            raise SettingsError(
                f"the cluster profile needs AIMARKET_JWT_SECRET of at least {MIN_SECRET_LENGTH} "
                "random characters; make one with "
                "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`"
            )
        return self

    @model_validator(mode="after")
    def _upload_limits_fit(self) -> Settings:
        if self.upload_min_part_bytes > self.upload_part_bytes:
            raise SettingsError(
                "AIMARKET_UPLOAD_MIN_PART_BYTES must not exceed AIMARKET_UPLOAD_PART_BYTES"
            )
        if self.max_upload_bytes > self.upload_part_bytes * MAX_PARTS:
            raise SettingsError(
                f"AIMARKET_MAX_UPLOAD_BYTES needs more than {MAX_PARTS} parts of "
                "AIMARKET_UPLOAD_PART_BYTES; raise the part size"
            )
        return self

    @field_validator("public_base_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    def serving_on(self, host: str, port: int) -> Settings:
        """These settings for a server listening on host:port: links name that address,
        unless AIMARKET_PUBLIC_BASE_URL says otherwise."""
        if "public_base_url" in self.model_fields_set:
            return self
        return self.model_copy(update={"public_base_url": link_base_url(host, port)})

    def allowed_webhook_hosts(self) -> list[str]:
        return [h.strip() for h in self.webhook_allowed_hosts.split(",") if h.strip()]

    def blob_root(self) -> Path:
        return self.blob_dir or self.data_dir / "blobs"

    def require_triton_repository(self) -> Path:
        if self.triton_model_repository is None:
            raise SettingsError(
                "the cluster profile deploys models into AIMARKET_TRITON_MODEL_REPOSITORY "
                "(Triton's model repository); `eval $(aimarket services env)` sets it"
            )
        return self.triton_model_repository

    def staging_root(self) -> Path:
        return self.data_dir / "uploads"

    def require_kafka(self) -> str:
        if not self.kafka_bootstrap_servers:
            raise SettingsError(
                "this command needs AIMARKET_KAFKA_BOOTSTRAP_SERVERS (host:port of a broker)"
            )
        return self.kafka_bootstrap_servers

    def partner_feed_secret(self) -> bytes:
        """The partner feed's pseudonym key: the same in every worker, or ids change."""
        if self.partner_feed_key is None:
            raise SettingsError(
                "the partner feed needs AIMARKET_PARTNER_FEED_KEY (32+ random characters, the "
                "same in every worker: partners' ids depend on it)"
            )
        key = self.partner_feed_key.get_secret_value().encode()
        if len(key) < MIN_SECRET_LENGTH:
            raise SettingsError(f"AIMARKET_PARTNER_FEED_KEY needs {MIN_SECRET_LENGTH}+ characters")
        return key

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


def link_base_url(host: str, port: int) -> str:
    """`http://host:port` as a link can use: a wildcard address names this machine."""
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "[::1]"
    elif ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"
