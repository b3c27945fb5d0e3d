"""Readiness: can this process reach what it depends on, and how fast?

Every check runs at once, in its own thread, and is waited for at most `timeout_s`, so one
hung dependency cannot hang the probe; a check still running from an earlier probe is not
started again (it is reported as timed out), so a hung one holds one thread, not one per
probe. A required dependency down is 503 `not_ready`; an optional one (a shared upstream
that every replica reaches alike, behind its breaker) only makes the status `degraded`."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_all
from dataclasses import dataclass
from typing import Any

from domain.errors import Unavailable


class NotReady(Unavailable):
    code = "not_ready"

    def __init__(self, message: str, details: dict[str, Any]) -> None:
        super().__init__(message, code=self.code)
        self.details = details


@dataclass(frozen=True)
class Check:
    name: str
    probe: Callable[[], object]  # raises when the dependency is out of reach
    required: bool = True
    breaker: str | None = None  # the dependency's circuit breaker, by name


def _timed(probe: Callable[[], object]) -> float:
    started = time.perf_counter()
    probe()
    return (time.perf_counter() - started) * 1000


class Readiness:
    def __init__(
        self,
        checks: list[Check],
        timeout_s: float = 2.0,
        breakers: Callable[[], Mapping[str, str]] = dict,
    ) -> None:
        self._checks = checks
        self._timeout_s = timeout_s
        self._breakers = breakers
        self._pool = ThreadPoolExecutor(max(1, len(checks)), thread_name_prefix="readiness")
        self._running: dict[str, Future[float]] = {}

    def check(self) -> dict[str, Any]:
        futures = {c.name: self._start(c) for c in self._checks}
        wait_all(futures.values(), timeout=self._timeout_s)
        states = self._breakers()
        report = {c.name: self._result(c, futures[c.name], states) for c in self._checks}
        body: dict[str, Any] = {"checks": report, "breakers": dict(states)}
        down = sorted(c.name for c in self._checks if c.required and not report[c.name]["ok"])
        if down:
            raise NotReady(
                f"not ready: {', '.join(down)} out of reach", {"status": "not_ready", **body}
            )
        degraded = any(not result["ok"] for result in report.values())
        return {"status": "degraded" if degraded else "ready", **body}

    def _start(self, check: Check) -> Future[float]:
        running = self._running.get(check.name)
        if running is None or running.done():
            running = self._pool.submit(_timed, check.probe)
            self._running[check.name] = running
        return running

    def _result(
        self, check: Check, future: Future[float], states: Mapping[str, str]
    ) -> dict[str, Any]:
        result: dict[str, Any] = {"required": check.required}
        if not future.done():
            result.update(ok=False, latency_ms=None, error=f"no answer in {self._timeout_s} s")
        elif future.exception() is not None:
            result.update(ok=False, latency_ms=None, error=type(future.exception()).__name__)
        else:
            result.update(ok=True, latency_ms=round(future.result(), 2))
        if check.breaker is not None:
            result["breaker"] = states.get(check.breaker, "closed")
        return result

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
