"""Responses of deterministic models, kept for equal inputs: keyed by the artifact's digest
and the inputs' canonical digest, bounded in bytes, each entry for a TTL."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from domain.clock import Clock


@dataclass(frozen=True)
class CachedResponse:
    outputs: dict[str, np.ndarray]
    expires_at: datetime

    @property
    def nbytes(self) -> int:
        return sum(array.nbytes for array in self.outputs.values())


class ResponseCache:
    def __init__(self, clock: Clock, max_bytes: int, ttl_s: float) -> None:
        self._clock, self._max_bytes, self._ttl = clock, max_bytes, timedelta(seconds=ttl_s)
        self._entries: OrderedDict[tuple[str, str], CachedResponse] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, artifact: str, inputs: str) -> dict[str, np.ndarray] | None:
        key = (artifact, inputs)
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry.expires_at <= self._clock.now():
                self._drop(key)
                return None
            self._entries.move_to_end(key)
            return entry.outputs

    def put(self, artifact: str, inputs: str, outputs: dict[str, np.ndarray]) -> None:
        entry = CachedResponse(outputs, self._clock.now() + self._ttl)
        if entry.nbytes > self._max_bytes // 8:  # one answer may not push out everything else
            return
        key = (artifact, inputs)
        with self._lock:
            self._drop(key)
            self._entries[key] = entry
            self._bytes += entry.nbytes
            while self._bytes > self._max_bytes:
                self._drop(next(iter(self._entries)))

    def _drop(self, key: tuple[str, str]) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._bytes -= entry.nbytes
