"""Waiting out answers that say "not yet" (a model still loading, a rate limit)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from aimarket_client.errors import APIError

T = TypeVar("T")


def call_until_ready(call: Callable[[], T], timeout_s: float = 120.0,
                     first_wait: float | None = None) -> T:  # fmt: skip
    """`call()` again after each retriable error (ModelLoading, RateLimited, Unavailable),
    sleeping its `retry_after` (1 s when it gives none), until `timeout_s` has passed."""
    deadline = time.monotonic() + timeout_s
    wait = first_wait
    while True:
        if wait is not None:
            if time.monotonic() + wait > deadline:
                raise TimeoutError(f"not ready within {timeout_s} s")
            time.sleep(wait)
        try:
            return call()
        except APIError as error:
            if not error.retriable:
                raise
            wait = error.retry_after if error.retry_after is not None else 1.0
            if time.monotonic() + wait > deadline:
                raise
