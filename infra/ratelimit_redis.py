"""Token buckets on Redis (the cluster profile): one round trip per check.

One Lua script, registered once and called by EVALSHA, takes every bucket of a check
atomically (all or none), with the arithmetic of commands/rate_limits.py. The time is
the caller's clock, passed in, not Redis's `TIME`: the behaviour tests then move it for
both adapters alike, and the API hosts' clocks are NTP-synchronised, so a skew of a few
milliseconds is worth a few milliseconds of refill. A clock behind the bucket's last
step refills nothing (the bucket's time never moves back).

Several keys in one script need one hash slot on a Redis Cluster; we run one Redis.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import redis

from commands.rate_limits import Decision, Limit, RateLimiterUnavailable, decide
from domain.clock import Clock

TAKE_ALL = """
local cost = tonumber(ARGV[1])
local now = tonumber(ARGV[2])
local tokens, stamps, allowed = {}, {}, 1
for i, key in ipairs(KEYS) do
  local cap, rate = tonumber(ARGV[1 + 2 * i]), tonumber(ARGV[2 + 2 * i])
  local held = redis.call('HMGET', key, 't', 'at')
  local t, at = tonumber(held[1]) or cap, tonumber(held[2]) or now
  if now > at then
    t = math.min(cap, t + (now - at) * rate)
    at = now
  end
  tokens[i], stamps[i] = t, at
  if t < cost then allowed = 0 end
end
local left = {}
for i, key in ipairs(KEYS) do
  local cap, rate = tonumber(ARGV[1 + 2 * i]), tonumber(ARGV[2 + 2 * i])
  local t = tokens[i]
  if allowed == 1 then t = t - cost end
  left[i] = string.format('%.17g', t)
  redis.call('HSET', key, 't', left[i], 'at', string.format('%.17g', stamps[i]))
  -- Gone once full again: a missing bucket reads as a full one.
  redis.call('PEXPIRE', key, math.ceil((cap - t) / rate * 1000) + 1000)
end
return {allowed, left}
"""


def script_call(
    prefix: str, limits: Sequence[Limit], cost: int, now: float
) -> tuple[list[str], list[Any]]:
    """TAKE_ALL's KEYS and ARGV for one check."""
    args: list[Any] = [cost, repr(now)]
    for limit in limits:
        args += [limit.spec.capacity, repr(float(limit.spec.refill_per_s))]
    return [prefix + limit.key for limit in limits], args


# After a failure, checks fail at once for this long: a Redis that does not answer would
# otherwise hold every request (and the event loop the check runs on) for the timeout.
BACKOFF_S = 1.0


class RedisTokenBuckets:
    def __init__(self, client: redis.Redis, clock: Clock, prefix: str) -> None:
        self._clock, self._prefix = clock, prefix
        self._script = client.register_script(TAKE_ALL)
        self._retry_at = float("-inf")

    @classmethod
    def from_url(cls, url: str, clock: Clock, prefix: str, timeout_s: float) -> RedisTokenBuckets:
        client = redis.Redis.from_url(
            url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s
        )
        return cls(client, clock, prefix)

    def take_all(self, limits: Sequence[Limit], cost: int = 1) -> Decision:
        now = self._clock.now().timestamp()
        if now < self._retry_at:
            raise RateLimiterUnavailable("the rate limiter cannot be reached", retry_after_s=1)
        keys, args = script_call(self._prefix, limits, cost, now)
        try:
            allowed, left = self._script(keys=keys, args=args)
        except redis.RedisError as error:
            self._retry_at = now + BACKOFF_S
            raise RateLimiterUnavailable(
                f"the rate limiter cannot be reached ({type(error).__name__})", retry_after_s=1
            ) from None
        return decide(limits, [float(t) for t in left], allowed == 1, cost)
