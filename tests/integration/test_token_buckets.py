"""The token-bucket port's behaviour, the same for both adapters: in process (embedded)
and on the real Redis (cluster), each with a clock the test moves."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Callable

import pytest

from commands.rate_limits import (
    BucketSpec,
    Limit,
    RateLimiterUnavailable,
    TokenBuckets,
    take,
)
from infra.ratelimit import InProcessTokenBuckets
from infra.ratelimit_redis import RedisTokenBuckets
from tests.support import MovableClock

Make = Callable[[], TokenBuckets]


@pytest.fixture(params=["memory", "redis"])
def make_buckets(request: pytest.FixtureRequest, clock: MovableClock) -> Make:
    """A maker of adapters over one store: several makes are several processes sharing it."""
    if request.param == "memory":
        shared = InProcessTokenBuckets(clock)
        return lambda: shared
    url: str = request.getfixturevalue("redis_url")
    prefix = f"t_{uuid.uuid4().hex[:8]}:"
    return lambda: RedisTokenBuckets.from_url(url, clock, prefix, timeout_s=2.0)


def _key() -> str:
    return f"k-{uuid.uuid4().hex[:8]}"


def test_a_bucket_gives_its_capacity_then_says_how_long_to_wait(make_buckets: Make) -> None:
    buckets, key = make_buckets(), _key()
    decisions = [take(buckets, key, 3, 0.5) for _ in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert [d.remaining for d in decisions] == [2, 1, 0, 0]
    assert [d.limit for d in decisions] == [3] * 4
    assert decisions[0].reset_s == 2  # one token short of full, at half a token a second
    assert decisions[2].reset_s == 6
    assert [d.retry_after_s for d in decisions] == [0, 0, 0, 2]


def test_tokens_come_back_as_the_clock_moves_and_never_above_capacity(
    make_buckets: Make, clock: MovableClock
) -> None:
    buckets, key = make_buckets(), _key()
    for _ in range(3):
        assert take(buckets, key, 3, 0.5).allowed
    clock.advance(2.0)  # one token back
    assert take(buckets, key, 3, 0.5).remaining == 0
    assert not take(buckets, key, 3, 0.5).allowed
    clock.advance(3600)
    again = take(buckets, key, 3, 0.5)
    assert (again.allowed, again.remaining) == (True, 2)


def test_a_clock_that_goes_back_refills_nothing(make_buckets: Make, clock: MovableClock) -> None:
    buckets, key = make_buckets(), _key()
    assert take(buckets, key, 1, 1.0).allowed
    clock.advance(-30)
    assert not take(buckets, key, 1, 1.0).allowed
    clock.advance(30.5)  # half a second past the first take: still short
    assert not take(buckets, key, 1, 1.0).allowed
    clock.advance(0.6)
    assert take(buckets, key, 1, 1.0).allowed


def test_several_buckets_are_taken_all_or_none(make_buckets: Make) -> None:
    buckets = make_buckets()
    small, large = Limit(_key(), BucketSpec(1, 0.1)), Limit(_key(), BucketSpec(10, 0.1))
    assert buckets.take_all([small, large]).allowed
    refused = buckets.take_all([small, large])
    assert not refused.allowed
    assert (refused.limit, refused.retry_after_s) == (1, 10)  # the tight bucket speaks
    # The refusal took nothing from the large bucket: 9 left, as after the one success.
    assert buckets.take_all([large]).remaining == 8


def test_a_concurrent_burst_gets_exactly_the_capacity(make_buckets: Make) -> None:
    key, capacity, callers = _key(), 25, 8
    outcomes: list[bool] = []
    lock, start = threading.Lock(), threading.Barrier(callers)

    def caller() -> None:
        buckets = make_buckets()  # on Redis, each thread a client of its own
        start.wait()
        for _ in range(10):
            allowed = take(buckets, key, capacity, 0.001).allowed
            with lock:
                outcomes.append(allowed)

    threads = [threading.Thread(target=caller) for _ in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(outcomes) == 80
    assert outcomes.count(True) == capacity


def test_an_unreachable_redis_is_reported_as_unavailable(clock: MovableClock) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    buckets = RedisTokenBuckets.from_url(f"redis://127.0.0.1:{port}/0", clock, "x:", 0.2)
    with pytest.raises(RateLimiterUnavailable) as raised:
        take(buckets, _key(), 1, 1.0)
    assert raised.value.code == "rate_limiter_unavailable"
    assert raised.value.retry_after_s == 1


def test_a_redis_that_does_not_answer_costs_one_timeout_then_fails_at_once_for_a_second(
    clock: MovableClock,
) -> None:
    with socket.socket() as silent:  # accepts connections (the backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"redis://127.0.0.1:{silent.getsockname()[1]}/0"
        buckets = RedisTokenBuckets.from_url(url, clock, "x:", timeout_s=0.3)
        assert _seconds_to_refuse(buckets) >= 0.3
        assert _seconds_to_refuse(buckets) < 0.1  # no I/O while backing off
        clock.advance(1.1)
        assert _seconds_to_refuse(buckets) >= 0.3  # tried again


def _seconds_to_refuse(buckets: TokenBuckets) -> float:
    started = time.perf_counter()
    with pytest.raises(RateLimiterUnavailable):
        take(buckets, _key(), 1, 1.0)
    return time.perf_counter() - started
