"""The sliding-window limiter and the log-in throttle, driven by a fake clock."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from redis.asyncio import Redis

from app.auth.rate_limit import (
    InMemoryRateLimiter,
    Limit,
    LoginThrottle,
    RateLimiter,
    RedisRateLimiter,
)
from tests.services import require_redis

THREE_PER_MINUTE = Limit(max_hits=3, window_s=60)
MakeLimiter = Callable[[Limit], Awaitable[RateLimiter]]


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.integration)])
async def make_limiter(request: pytest.FixtureRequest) -> AsyncIterator[MakeLimiter]:
    """Both limiters keep one contract: one process's memory, or Redis shared by many."""
    if request.param == "memory":

        async def in_memory(limit: Limit) -> RateLimiter:
            return InMemoryRateLimiter(limit)

        yield in_memory
        return
    redis = Redis.from_url(require_redis())
    prefix = f"test-{uuid.uuid4().hex}:"

    async def on_redis(limit: Limit) -> RateLimiter:
        return RedisRateLimiter(redis, limit, prefix=prefix)

    try:
        yield on_redis
    finally:
        keys = [key async for key in redis.scan_iter(f"{prefix}*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()


async def _hit(limiter: RateLimiter, key: str, *times: float) -> None:
    for now in times:
        await limiter.hit(key, now=now)


async def test_hits_below_the_limit_are_allowed(make_limiter: MakeLimiter) -> None:
    limiter = await make_limiter(THREE_PER_MINUTE)
    await _hit(limiter, "k", 0, 1)
    assert await limiter.retry_after_s("k", now=2) == 0


async def test_reaching_the_limit_refuses_until_the_oldest_hit_leaves_the_window(
    make_limiter: MakeLimiter,
) -> None:
    limiter = await make_limiter(THREE_PER_MINUTE)
    await _hit(limiter, "k", 0, 10, 20)
    assert await limiter.retry_after_s("k", now=30) == 30
    assert await limiter.retry_after_s("k", now=59.5) == 0.5


async def test_allowed_again_once_the_window_has_passed(make_limiter: MakeLimiter) -> None:
    limiter = await make_limiter(THREE_PER_MINUTE)
    await _hit(limiter, "k", 0, 10, 20)
    assert await limiter.retry_after_s("k", now=60) == 0
    await limiter.hit("k", now=60)
    # 10, 20 and 60 are inside the window at 61: refused until 10 leaves it.
    assert await limiter.retry_after_s("k", now=61) == 9


async def test_the_window_slides_rather_than_resetting_on_a_boundary(
    make_limiter: MakeLimiter,
) -> None:
    limiter = await make_limiter(THREE_PER_MINUTE)
    await _hit(limiter, "k", 50, 55, 58)
    # A fixed one-minute bucket would reset at 60; the sliding window still counts them.
    assert await limiter.retry_after_s("k", now=61) == 49


async def test_keys_are_counted_apart(make_limiter: MakeLimiter) -> None:
    limiter = await make_limiter(THREE_PER_MINUTE)
    await _hit(limiter, "a", 0, 1, 2)
    assert await limiter.retry_after_s("a", now=3) > 0
    assert await limiter.retry_after_s("b", now=3) == 0


async def test_clear_forgets_a_key(make_limiter: MakeLimiter) -> None:
    limiter = await make_limiter(THREE_PER_MINUTE)
    await _hit(limiter, "k", 0, 1, 2)
    await limiter.clear("k")
    assert await limiter.retry_after_s("k", now=3) == 0


async def test_memory_is_bounded_by_dropping_the_least_recently_hit_keys() -> None:
    limiter = InMemoryRateLimiter(THREE_PER_MINUTE, max_keys=2)
    await _hit(limiter, "old", 0, 0, 0)
    await limiter.hit("newer", now=1)
    await limiter.hit("newest", now=2)
    assert len(limiter) == 2
    assert await limiter.retry_after_s("old", now=3) == 0


async def test_keys_whose_hits_have_expired_are_dropped() -> None:
    limiter = InMemoryRateLimiter(THREE_PER_MINUTE)
    for number in range(100):
        await limiter.hit(f"k{number}", now=number)
    await limiter.hit("late", now=1000)
    assert len(limiter) == 1


def test_a_limit_must_allow_something() -> None:
    with pytest.raises(ValueError, match="max_hits"):
        Limit(max_hits=0, window_s=60)


async def _fail(throttle: LoginThrottle, username: str, address: str, now: float) -> None:
    await throttle.record_attempt(username=username, address=address, now=now)
    await throttle.record_failure(username=username, address=address, now=now)


async def test_throttle_limits_one_username_from_one_address() -> None:
    throttle = LoginThrottle.in_memory(per_account=THREE_PER_MINUTE)
    for now in (0, 1, 2):
        await _fail(throttle, "maria", "10.0.0.1", now)
    assert await throttle.retry_after_s(username="maria", address="10.0.0.1", now=3) == 57
    assert await throttle.retry_after_s(username="maria", address="10.0.0.2", now=3) == 0
    assert await throttle.retry_after_s(username="james", address="10.0.0.1", now=3) == 0
    assert await throttle.retry_after_s(username="maria", address="10.0.0.1", now=60) == 0


async def test_attempts_count_against_the_account_before_their_outcome_is_known() -> None:
    throttle = LoginThrottle.in_memory(per_account=THREE_PER_MINUTE)
    for now in (0, 0, 0):
        await throttle.record_attempt(username="maria", address="10.0.0.1", now=now)
    assert await throttle.retry_after_s(username="maria", address="10.0.0.1", now=0) == 60


async def test_throttle_limits_failures_from_one_address_across_usernames() -> None:
    throttle = LoginThrottle.in_memory(per_address=THREE_PER_MINUTE)
    for number in range(3):
        await _fail(throttle, f"user{number}", "10.0.0.1", number)
    assert await throttle.retry_after_s(username="someone", address="10.0.0.1", now=3) == 57
    assert await throttle.retry_after_s(username="someone", address="10.0.0.2", now=3) == 0


async def test_successes_from_one_address_do_not_count_against_it() -> None:
    throttle = LoginThrottle.in_memory(per_address=THREE_PER_MINUTE)
    for number in range(10):
        await throttle.record_attempt(username=f"agent{number}", address="10.0.0.1", now=0)
        await throttle.record_success(username=f"agent{number}", address="10.0.0.1")
    assert await throttle.retry_after_s(username="agent10", address="10.0.0.1", now=0) == 0


async def test_a_successful_log_in_forgives_the_account_but_not_the_address() -> None:
    throttle = LoginThrottle.in_memory(
        per_account=Limit(max_hits=2, window_s=60), per_address=Limit(max_hits=3, window_s=60)
    )
    await _fail(throttle, "maria", "10.0.0.1", 0)
    await _fail(throttle, "maria", "10.0.0.1", 1)
    await throttle.record_attempt(username="maria", address="10.0.0.1", now=2)
    await throttle.record_success(username="maria", address="10.0.0.1")
    assert await throttle.retry_after_s(username="maria", address="10.0.0.1", now=2) == 0
    await _fail(throttle, "maria", "10.0.0.1", 2)
    assert await throttle.retry_after_s(username="james", address="10.0.0.1", now=3) == 57
