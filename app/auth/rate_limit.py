"""Sliding-window rate limits, and the log-in throttle built on them.

`RateLimiter` is async and takes `now` (epoch seconds) on every call: the in-memory
implementation serves one process and tests drive it with a fake clock; the Redis one (a
sorted set per key) shares the counts between every process of a deployment.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Protocol

from redis.asyncio import Redis

DEFAULT_MAX_KEYS = 100_000


@dataclass(frozen=True, slots=True)
class Limit:
    """At most `max_hits` hits per key within any `window_s` seconds."""

    max_hits: int
    window_s: float

    def __post_init__(self) -> None:
        if self.max_hits < 1 or self.window_s <= 0:
            raise ValueError("a limit needs max_hits >= 1 and window_s > 0")


class RateLimiter(Protocol):
    """Counts hits per key over a sliding window of `limit.window_s` seconds."""

    @property
    def limit(self) -> Limit:
        """The limit every key is held to."""
        ...

    async def retry_after_s(self, key: str, *, now: float) -> float:
        """0 when `key` may be hit again at `now`, else the seconds until it may."""
        ...

    async def hit(self, key: str, *, now: float) -> None:
        """Count one hit of `key` at `now`."""
        ...

    async def clear(self, key: str) -> None:
        """Forget every hit of `key`."""
        ...


class InMemoryRateLimiter:
    """A `RateLimiter` for one process: an exact sliding log, with bounded memory.

    Each key keeps at most `limit.max_hits` timestamps (older ones cannot decide anything),
    and at most `max_keys` keys are kept: keys whose hits have all left the window go
    first, then the least recently hit ones.
    """

    def __init__(self, limit: Limit, *, max_keys: int = DEFAULT_MAX_KEYS) -> None:
        if max_keys < 1:
            raise ValueError("max_keys must be at least 1")
        self._limit = limit
        self._max_keys = max_keys
        # Ordered by last hit, oldest first, so stale keys gather at the front.
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()

    @property
    def limit(self) -> Limit:
        """The limit every key is held to."""
        return self._limit

    def __len__(self) -> int:
        return len(self._hits)

    async def retry_after_s(self, key: str, *, now: float) -> float:
        """0 when `key` may be hit again at `now`, else the seconds until it may."""
        hits = self._hits.get(key)
        if hits is None:
            return 0.0
        self._drop_expired(hits, now)
        if not hits:
            del self._hits[key]
            return 0.0
        if len(hits) < self._limit.max_hits:
            return 0.0
        return hits[0] + self._limit.window_s - now

    async def hit(self, key: str, *, now: float) -> None:
        """Count one hit of `key` at `now`."""
        hits = self._hits.pop(key, None)
        if hits is None:
            hits = deque(maxlen=self._limit.max_hits)
        self._drop_expired(hits, now)
        hits.append(now)
        self._hits[key] = hits
        self._evict(now)

    async def clear(self, key: str) -> None:
        """Forget every hit of `key`."""
        self._hits.pop(key, None)

    def _drop_expired(self, hits: deque[float], now: float) -> None:
        horizon = now - self._limit.window_s
        while hits and hits[0] <= horizon:
            hits.popleft()

    def _evict(self, now: float) -> None:
        horizon = now - self._limit.window_s
        while self._hits:
            oldest = next(iter(self._hits.values()))
            if len(self._hits) <= self._max_keys and oldest and oldest[-1] > horizon:
                return
            self._hits.popitem(last=False)


# KEYS: the key. ARGV: now, window_s, max_hits. Drops what left the window (and all but the
# newest max_hits, which alone can decide), then answers the seconds to wait.
_RETRY_AFTER = """
local now, window, max_hits = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -(max_hits + 1))
if redis.call('ZCARD', KEYS[1]) < max_hits then return '0' end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')[2]
return tostring(tonumber(oldest) + window - now)
"""
# KEYS: the key. ARGV: now, window_s, max_hits, a unique member.
_HIT = """
local now, window, max_hits = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -(max_hits + 1))
redis.call('PEXPIRE', KEYS[1], math.ceil(window * 1000))
return 1
"""


class RedisRateLimiter:
    """A `RateLimiter` shared by every process: one sorted set of hit times per key."""

    def __init__(self, redis: Redis, limit: Limit, *, prefix: str) -> None:
        self._redis = redis
        self._limit = limit
        self._prefix = prefix

    @property
    def limit(self) -> Limit:
        """The limit every key is held to."""
        return self._limit

    async def retry_after_s(self, key: str, *, now: float) -> float:
        """0 when `key` may be hit again at `now`, else the seconds until it may."""
        wait = await self._redis.eval(
            _RETRY_AFTER, 1, self._prefix + key, now, self._limit.window_s, self._limit.max_hits
        )
        return max(0.0, float(wait))

    async def hit(self, key: str, *, now: float) -> None:
        """Count one hit of `key` at `now`."""
        await self._redis.eval(
            _HIT,
            1,
            self._prefix + key,
            now,
            self._limit.window_s,
            self._limit.max_hits,
            uuid.uuid4().hex,
        )

    async def clear(self, key: str) -> None:
        """Forget every hit of `key`."""
        await self._redis.delete(self._prefix + key)


# A person who mistypes a few times is not held up; a guesser gets 5 tries per 5 minutes.
ACCOUNT_LIMIT = Limit(max_hits=5, window_s=300)
# Looser: a contact centre's agents often share one public address behind NAT.
ADDRESS_LIMIT = Limit(max_hits=50, window_s=300)


@dataclass(frozen=True, slots=True)
class LoginThrottle:
    """Log-in attempts per (address, username), and failed log-ins per address.

    An attempt counts against its account before the password is checked, so that a burst
    of parallel guesses is counted too; a success forgives the account's count.
    """

    per_account: RateLimiter
    per_address: RateLimiter

    @classmethod
    def in_memory(
        cls, *, per_account: Limit = ACCOUNT_LIMIT, per_address: Limit = ADDRESS_LIMIT
    ) -> LoginThrottle:
        """A throttle for a single process."""
        return cls(InMemoryRateLimiter(per_account), InMemoryRateLimiter(per_address))

    @classmethod
    def on_redis(
        cls,
        redis: Redis,
        *,
        prefix: str,
        per_account: Limit = ACCOUNT_LIMIT,
        per_address: Limit = ADDRESS_LIMIT,
    ) -> LoginThrottle:
        """A throttle shared by every process of a deployment."""
        return cls(
            RedisRateLimiter(redis, per_account, prefix=prefix),
            RedisRateLimiter(redis, per_address, prefix=prefix),
        )

    async def retry_after_s(self, *, username: str, address: str, now: float) -> float:
        """0 when this log-in may be tried now, else the seconds to wait."""
        account = await self.per_account.retry_after_s(_account_key(username, address), now=now)
        by_address = await self.per_address.retry_after_s(_address_key(address), now=now)
        return max(account, by_address)

    async def record_attempt(self, *, username: str, address: str, now: float) -> None:
        """Count an attempt against its account, before its password is checked."""
        await self.per_account.hit(_account_key(username, address), now=now)

    async def record_failure(self, *, username: str, address: str, now: float) -> None:
        """Count a failed log-in against its address."""
        await self.per_address.hit(_address_key(address), now=now)

    async def record_success(self, *, username: str, address: str) -> None:
        """Forgive this account's earlier typos (not the address's: one good account
        must not reset the count for every other guess from that address)."""
        await self.per_account.clear(_account_key(username, address))


def _account_key(username: str, address: str) -> str:
    # Addresses never contain "/", so the first one separates the two parts unambiguously.
    return f"login:account:{address}/{username}"


def _address_key(address: str) -> str:
    return f"login:address:{address}"
