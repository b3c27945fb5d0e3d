"""Redis counts with an expiry, as the rate limiter will."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import redis


@pytest.mark.services("redis")
def test_counter_incremented_with_ttl_keeps_count_and_expiry(
    redis_url: str, unique_name: Callable[..., str]
) -> None:
    client = redis.Redis.from_url(redis_url)
    key = f"{unique_name('rl')}:calls"
    try:
        with client.pipeline() as pipe:
            pipe.incr(key)
            pipe.expire(key, 60, nx=True)  # set once, when the window opens
            pipe.incr(key)
            pipe.ttl(key)
            first, _, second, ttl = pipe.execute()
        assert (first, second) == (1, 2)
        assert 0 < ttl <= 60
    finally:
        client.delete(key)
        client.close()
