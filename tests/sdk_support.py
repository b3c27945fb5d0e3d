"""What the SDK and user CLI tests share: the app served by a real uvicorn (its links
naming that address), accounts logged in through the SDK, and a model big enough to
upload in many parts."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from aimarket_client import Client

from infra.bootstrap import Container
from infra.http.app import create_app
from infra.settings import Settings
from tests.billing_support import metered
from tests.inference_support import affine_model, on_triton
from tests.serving import free_port, serving
from tests.support import PASSWORD, Account

# y = x @ W + 1 with W 256 x 64: 64 KiB of weights, so 1 KiB parts make 60-odd of them.
WEIGHTS = np.random.default_rng(11).standard_normal((256, 64)).astype(np.float32)
X = np.random.default_rng(12).standard_normal((2, 256)).astype(np.float32)
PRICING = {
    "currency": "EUR",
    "free_requests_per_month": 1,
    "price_per_request": 2,
    "purchase_price": 4900,
}


def live_settings(settings: Settings, profile: str, request: pytest.FixtureRequest,
                  port: int) -> Settings:  # fmt: skip
    """Either profile with inference, jobs, the saga and metering running, links to `port`."""
    workers = ("cluster_purchase_worker", "cluster_job_worker")
    settings = metered(on_triton(settings, profile, request, *workers))
    return settings.model_copy(update={"public_base_url": f"http://127.0.0.1:{port}"})


@contextmanager
def live_server(container: Container, port: int) -> Iterator[str]:
    with serving(create_app(container), port) as base_url:
        yield base_url


def model_file(directory: Path) -> Path:
    path = directory / "affine.onnx"
    path.write_bytes(affine_model(WEIGHTS))
    return path


Hooks = dict[str, list[Callable[..., Any]]]


def sdk_for(base_url: str, account: Account, hooks: Hooks | None = None) -> Client:
    """A client logged in as `account` (`hooks`: httpx's, to watch its requests)."""
    http = httpx.Client(base_url=base_url, timeout=60, event_hooks=hooks)
    client = Client(base_url, http=http)
    client.login(account.email, PASSWORD)
    return client


def unused_port() -> int:
    return free_port()
