"""In-process fixed-window rate limiter (the Redis one comes with the quota work)."""

from __future__ import annotations

import math
import threading
import time


class InProcessRateLimiter:
    def __init__(self) -> None:
        self._windows: dict[str, tuple[float, int]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, limit: int, window_s: int) -> int:
        now = time.monotonic()
        with self._lock:
            started, count = self._windows.get(key, (now, 0))
            if now - started >= window_s:
                started, count = now, 0
            if count >= limit:
                return max(1, math.ceil(started + window_s - now))
            self._windows[key] = (started, count + 1)
            if len(self._windows) > 100_000:  # bound memory under a flood of distinct keys
                self._windows = {k: v for k, v in self._windows.items() if now - v[0] < window_s}
            return 0
