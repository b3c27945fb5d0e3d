"""Token buckets in process (the embedded profile): thread-safe, bounded in memory.

The arithmetic is commands/rate_limits.py's, the same the Redis script does."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

from commands.rate_limits import Decision, Limit, TokenBuckets, decide, refilled
from domain.clock import Clock
from infra.settings import Settings, SettingsError

MAX_BUCKETS = 100_000


class InProcessTokenBuckets:
    def __init__(self, clock: Clock, max_buckets: int = MAX_BUCKETS) -> None:
        self._clock = clock
        self._max = max_buckets
        self._state: OrderedDict[str, tuple[float, float]] = OrderedDict()  # tokens, at
        self._lock = threading.Lock()

    def take_all(self, limits: Sequence[Limit], cost: int = 1) -> Decision:
        now = self._clock.now().timestamp()
        with self._lock:
            held = [self._held(limit, now) for limit in limits]
            pairs = zip(held, limits, strict=True)
            tokens = [refilled(t, at, now, limit.spec) for (t, at), limit in pairs]
            allowed = all(t >= cost for t in tokens)
            if allowed:
                tokens = [t - cost for t in tokens]
            for limit, left, (_, at) in zip(limits, tokens, held, strict=True):
                # Never moved back: a clock that went back must not refill twice.
                self._state[limit.key] = (left, max(at, now))
                self._state.move_to_end(limit.key)
            while len(self._state) > self._max:
                # Forget the least recently used: a forgotten bucket is a full one, which
                # is what an idle bucket soon is anyway; memory stays bounded under a flood.
                self._state.popitem(last=False)
        return decide(limits, tokens, allowed, cost)

    def _held(self, limit: Limit, now: float) -> tuple[float, float]:
        return self._state.get(limit.key) or (float(limit.spec.capacity), now)


def token_buckets(settings: Settings, clock: Clock) -> TokenBuckets:
    """The profile's bucket store: in process when embedded, Redis in the cluster."""
    if settings.rate_limit_backend(settings.profile) == "memory":
        return InProcessTokenBuckets(clock)
    if not settings.redis_url:
        raise SettingsError(
            "rate limits on Redis need AIMARKET_REDIS_URL; `eval $(aimarket services env)` "
            "sets it for the local services (or AIMARKET_RATE_LIMITS=memory for one process)"
        )
    from infra.ratelimit_redis import RedisTokenBuckets  # a cluster extra

    return RedisTokenBuckets.from_url(
        settings.redis_url, clock, settings.rate_limit_prefix, settings.rate_limit_timeout_s
    )
