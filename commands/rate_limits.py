"""Token buckets: the rate-limit port, its decision, and the arithmetic every adapter shares.

A bucket holds up to `capacity` tokens and gains `refill_per_s` a second; a call takes
`cost`. Several buckets can be taken together (a key and its user; an account and an
address): all or none, so a refusal by one costs the others nothing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from domain.errors import Unavailable


@dataclass(frozen=True)
class BucketSpec:
    capacity: int
    refill_per_s: float

    def __post_init__(self) -> None:
        if self.capacity < 1 or self.refill_per_s <= 0:
            raise ValueError("a bucket needs a capacity of at least 1 and a positive refill")


@dataclass(frozen=True)
class Limit:
    key: str
    spec: BucketSpec


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int  # the capacity of the bucket this decision reports on
    remaining: int  # whole tokens left after this call
    reset_s: int  # seconds until that bucket is full again
    retry_after_s: int  # 0 when allowed; else seconds until the call could pass


class RateLimiterUnavailable(Unavailable):
    """The bucket store cannot be reached; each route class says whether that refuses."""

    code = "rate_limiter_unavailable"


class TokenBuckets(Protocol):
    def take_all(self, limits: Sequence[Limit], cost: int = 1) -> Decision:
        """Take `cost` from every bucket if each has it, else from none (one atomic step).
        Raises RateLimiterUnavailable when the store cannot answer."""
        ...


def take(
    buckets: TokenBuckets, key: str, capacity: int, refill_per_s: float, cost: int = 1
) -> Decision:
    return buckets.take_all([Limit(key, BucketSpec(capacity, refill_per_s))], cost)


def refilled(tokens: float, last_s: float, now_s: float, spec: BucketSpec) -> float:
    """Tokens at `now_s`; a clock that went back refills nothing (and takes nothing)."""
    return min(float(spec.capacity), tokens + max(0.0, now_s - last_s) * spec.refill_per_s)


def decide(
    limits: Sequence[Limit], tokens_after: Sequence[float], allowed: bool, cost: int
) -> Decision:
    """The decision from each bucket's tokens once the step is done: the tightest bucket
    speaks (the fewest tokens left; when refused, the longest wait)."""
    pairs = zip(limits, tokens_after, strict=True)
    views = [_view(limit.spec, tokens, allowed, cost) for limit, tokens in pairs]
    if allowed:
        return min(views, key=lambda d: (d.remaining, -d.reset_s))
    return max(views, key=lambda d: (d.retry_after_s, -d.remaining))


def _view(spec: BucketSpec, tokens: float, allowed: bool, cost: int) -> Decision:
    rate = spec.refill_per_s
    reset = math.ceil((spec.capacity - tokens) / rate) if rate > 0 else 0
    wait = 0 if allowed or tokens >= cost else max(1, math.ceil((cost - tokens) / rate))
    return Decision(allowed, spec.capacity, max(0, math.floor(tokens)), max(0, reset), wait)
