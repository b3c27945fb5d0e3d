"""The one circuit breaker and retry policy of every outbound call (Triton, the payment
provider, OpenSearch, outbound webhooks).

A `Breaker` is pybreaker's (closed, open, half-open; `fail_max` failures in a row open
it, `reset_timeout_s` later the next calls are trial probes and `success_threshold` of
them close it). What counts as a failure is the adapter's to say, once, as a predicate:
unreachable, timed out, 5xx count; a 4xx, a decline or a model's own error say nothing
about the dependency's health. pybreaker reads the wall clock (`datetime.now`): tests use
short cool-downs or move it with time-machine.

`retrying` runs an idempotent call up to `attempts` times with full-jitter exponential
waits (tenacity), each attempt through the breaker; an open breaker is never retried.

`BreakerRegistry` holds one breaker per dependency for a container (the composition root
makes it), and each state is exported as `aimarket_breaker_state{dependency}`."""

from __future__ import annotations

import functools
import math
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

import pybreaker
import tenacity
from prometheus_client import Gauge

from infra.settings import Settings

T = TypeVar("T")
DEPENDENCIES = ("triton", "payments", "opensearch", "webhooks")
STATE_VALUES = {"closed": 0, "half-open": 1, "open": 2}


class BreakerOpen(Exception):
    """The dependency's breaker is open: the call was not made."""

    def __init__(self, name: str, retry_after_s: int) -> None:
        super().__init__(f"{name} is failing; calls are paused for a moment")
        self.name = name
        self.retry_after_s = retry_after_s


@functools.cache
def state_gauge() -> Gauge:
    """Made on first use (never at import); in multiprocess mode the worst live process."""
    return Gauge(
        "aimarket_breaker_state",
        "Circuit breaker state per dependency: 0 closed, 1 half-open, 2 open",
        ["dependency"],
        multiprocess_mode="livemax",
    )


@dataclass(frozen=True)
class BreakerPolicy:
    fail_max: int = 5
    reset_timeout_s: float = 10.0
    success_threshold: int = 1


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 3
    wait_base_s: float = 0.1
    wait_max_s: float = 2.0


class _Exporter(pybreaker.CircuitBreakerListener):
    def __init__(self, name: str, export: Callable[[str], int]) -> None:
        self.name = name
        self.export = export

    def state_change(
        self,
        cb: pybreaker.CircuitBreaker,
        old_state: pybreaker.CircuitBreakerState | None,
        new_state: pybreaker.CircuitBreakerState,
    ) -> None:
        # Told before the storage holds the new state: the value comes from `new_state`.
        state_gauge().labels(self.name).set(self.export(new_state.name))


class Breaker:
    def __init__(
        self,
        name: str,
        counts: Callable[[BaseException], bool],
        policy: BreakerPolicy = BreakerPolicy(),
        export: Callable[[str], int] | None = None,
    ) -> None:
        self.name = name
        self.policy = policy
        exporter = _Exporter(name, export or STATE_VALUES.__getitem__)
        self._breaker = pybreaker.CircuitBreaker(
            fail_max=policy.fail_max,
            reset_timeout=policy.reset_timeout_s,
            success_threshold=policy.success_threshold,
            exclude=[lambda error: not counts(error)],
            listeners=[exporter],
            name=name,
            throw_new_error_on_trip=False,  # the call that trips it keeps its own error
        )
        state_gauge().labels(name).set(exporter.export("closed"))

    @property
    def state(self) -> str:
        return str(self._breaker.current_state)

    @property
    def retry_after_s(self) -> int:
        return max(1, math.ceil(self.policy.reset_timeout_s))

    @contextmanager
    def calling(self) -> Iterator[None]:
        """Guard the block (sync or awaiting); `BreakerOpen` when open."""
        try:
            with self._breaker.calling():
                yield
        except pybreaker.CircuitBreakerError:
            raise BreakerOpen(self.name, self.retry_after_s) from None

    def call(self, call: Callable[[], T]) -> T:
        with self.calling():
            return call()


def retrying(
    breaker: Breaker,
    policy: RetryPolicy,
    call: Callable[[], T],
    transient: Callable[[BaseException], bool],
) -> T:
    """`call` (idempotent) through `breaker`, retried while `transient` says so."""
    retryer = tenacity.Retrying(
        stop=tenacity.stop_after_attempt(policy.attempts),
        wait=tenacity.wait_random_exponential(multiplier=policy.wait_base_s, max=policy.wait_max_s),
        retry=tenacity.retry_if_exception(lambda e: transient(e) and breaker.state != "open"),
        reraise=True,
    )
    answer: T = retryer(breaker.call, call)
    return answer


class BreakerFamily:
    """One breaker per destination of one dependency (outbound webhooks: one customer's
    dead endpoint must not pause everyone's deliveries). The least recently used
    destinations are forgotten past `max_keys`; the gauge shows the worst state."""

    def __init__(
        self, name: str, counts: Callable[[BaseException], bool], policy: BreakerPolicy,
        max_keys: int = 1024,
    ) -> None:  # fmt: skip
        self.name, self.counts, self.policy, self.max_keys = name, counts, policy, max_keys
        self._breakers: OrderedDict[str, Breaker] = OrderedDict()
        state_gauge().labels(name).set(0)

    def get(self, key: str) -> Breaker:
        found = self._breakers.get(key)
        if found is None:
            export = functools.partial(self._worst_with, key)
            found = Breaker(self.name, self.counts, self.policy, export=export)
            self._breakers[key] = found
            while len(self._breakers) > self.max_keys:
                self._breakers.popitem(last=False)
        self._breakers.move_to_end(key)
        return found

    def _worst_with(self, key: str, state: str) -> int:
        """The family's worst state once the breaker of `key` is in `state`."""
        others = (STATE_VALUES[b.state] for k, b in list(self._breakers.items()) if k != key)
        return max([STATE_VALUES[state], *others])

    def _worst(self) -> int:
        return max((STATE_VALUES[b.state] for b in list(self._breakers.values())), default=0)

    @property
    def state(self) -> str:
        worst = self._worst()
        return next(name for name, value in STATE_VALUES.items() if value == worst)

    def open_keys(self) -> list[str]:
        return [key for key, b in list(self._breakers.items()) if b.state == "open"]


class BreakerRegistry:
    """One breaker per dependency name, for the adapters of one container."""

    def __init__(self, policy: BreakerPolicy, retry: RetryPolicy) -> None:
        self.policy = policy
        self.retry = retry
        self._breakers: dict[str, Breaker | BreakerFamily] = {}

    def get(self, name: str, counts: Callable[[BaseException], bool]) -> Breaker:
        if name not in self._breakers:
            self._breakers[name] = Breaker(name, counts, self.policy)
        found = self._breakers[name]
        assert isinstance(found, Breaker)
        return found

    def family(self, name: str, counts: Callable[[BaseException], bool]) -> BreakerFamily:
        if name not in self._breakers:
            self._breakers[name] = BreakerFamily(name, counts, self.policy)
        found = self._breakers[name]
        assert isinstance(found, BreakerFamily)
        return found

    def state_of(self, name: str) -> str | None:
        found = self._breakers.get(name)
        return None if found is None else found.state

    def states(self) -> dict[str, str]:
        return {name: breaker.state for name, breaker in sorted(self._breakers.items())}


def registry_for(settings: Settings) -> BreakerRegistry:
    """The breakers of one container (or one worker process), from the settings."""
    policy = BreakerPolicy(
        settings.breaker_fail_max,
        settings.breaker_reset_timeout_s,
        settings.breaker_success_threshold,
    )
    retry = RetryPolicy(
        settings.retry_attempts, settings.retry_wait_base_s, settings.retry_wait_max_s
    )
    return BreakerRegistry(policy, retry)
