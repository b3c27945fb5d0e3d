"""The settings of serving model calls: inference, Triton, async jobs, webhooks, metering.
A part of `Settings` (infra/settings.py), kept apart so each file stays readable; the
variables are the same AIMARKET_* ones."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings

MiB = 1024 * 1024


class ServingSettings(BaseSettings):
    # Inference: the sync, batch and job calls.
    inference_max_input_bytes: int = Field(default=8 * MiB, gt=0, description="one call's tensors")
    inference_max_body_bytes: int = Field(default=12 * MiB, gt=0, description="a call's JSON")
    inference_max_batch_items: int = Field(default=32, gt=0, description="rows in a batch call")
    inference_timeout_s: float = Field(default=10.0, gt=0, description="each engine call")
    inference_calls_per_minute: int = Field(default=600, gt=0, description="per key or user")
    inference_model_cache_ttl_s: float = Field(default=2.0, ge=0, description="model views")
    inference_sessions_max_bytes: int = Field(default=1024 * MiB, gt=0, description="embedded")
    response_cache_max_bytes: int = Field(default=64 * MiB, ge=0)
    response_cache_ttl_s: float = Field(default=300.0, ge=0)
    breaker_fail_max: int = Field(default=5, gt=0, description="failures in a row that open it")
    breaker_reset_timeout_s: float = Field(default=10.0, gt=0, description="open before a trial")

    # Async inference jobs (commands/jobs.py, workers/jobs.py)
    job_ttl_s: int = Field(default=7 * 24 * 3600, gt=0, description="an ended job's life")
    job_lease_s: float = Field(
        default=600, gt=0, description="a running job's claim older than this is taken over"
    )
    job_max_input_bytes: int | None = Field(
        default=None, gt=0, description="a job's inputs as JSON; default max_body_bytes"
    )
    job_topic: str = Field(default="aimarket.jobs", pattern=r"^[A-Za-z0-9._-]+$")
    # Completion webhooks (commands/webhooks.py, workers/webhooks.py, infra/webhooks/)
    webhook_allowed_hosts: str = Field(
        default="",
        description="comma-separated host names exempt from the SSRF address check (tests)",
    )
    webhook_max_endpoints: int = Field(default=10, gt=0)
    webhook_rotation_grace_s: float = Field(default=24 * 3600, ge=0)
    webhook_retry_window_s: float = Field(default=24 * 3600, gt=0)
    webhook_retry_base_s: float = Field(default=5.0, gt=0)
    webhook_retry_cap_s: float = Field(default=3600.0, gt=0)
    webhook_connect_timeout_s: float = Field(default=3.0, gt=0)
    webhook_read_timeout_s: float = Field(default=5.0, gt=0)
    webhook_poll_s: float = Field(default=1.0, gt=0)

    # Inference (infra/inference/): Triton in the cluster profile, onnxruntime when embedded
    triton_url: str = Field(default="127.0.0.1:58000", description="Triton HTTP host:port")
    triton_grpc_url: str = Field(
        default="127.0.0.1:58001", description="Triton gRPC host:port: inference and model control"
    )
    triton_model_repository: Path | None = Field(
        default=None, description="Triton's model repository, a volume shared with Triton"
    )
    triton_backend: Literal["python", "onnxruntime"] = Field(
        default="python",
        description="python: a model.py running onnxruntime (the nvidia-pytriton wheel's "
        "Triton has no onnxruntime backend); onnxruntime: the platform of a full Triton",
    )
    triton_max_batch_size: int = Field(
        default=32, ge=0, description="for versions whose inputs and outputs all batch"
    )
    triton_dynamic_batching: bool = Field(
        default=True, description="let Triton stack concurrent calls into one run"
    )
    triton_max_queue_delay_us: int = Field(
        default=100, ge=0, description="longest wait of a call for others to batch with"
    )
    triton_instances: int = Field(default=1, ge=1, description="model instances per version")
    triton_load_timeout_s: float = Field(default=120.0, gt=0, description="one load_model")

    # Metering (commands/metering.py, commands/usage_rollup.py)
    usage_flush_batch: int = Field(
        default=500, gt=0, description="usage records that, waiting, are written at once"
    )
    usage_flush_interval_ms: int = Field(
        default=200, gt=0, description="the longest a usage record waits to be written"
    )
    usage_count_ttl_s: float = Field(
        default=60.0, gt=0, description="re-read a month's call count from the ledger after"
    )
    usage_rollup_batch: int = Field(
        default=1000, gt=0, description="records per roll-up into the Usage aggregates"
    )
    usage_rollup_idle_s: float = Field(
        default=1.0, gt=0, description="the roll-up's wait when it found no full batch"
    )
