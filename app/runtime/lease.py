"""The writer lease in Redis: at most one process holds it, and each holder gets a new number.

The number (the fence) only grows, and never falls below the database's: after Redis lost its
data, the first new holder still gets a number newer than every writer before it.
"""

from __future__ import annotations

from typing import cast

from redis.asyncio import Redis

# KEYS: lease, counter. ARGV: holder, ttl_ms, the database's fence.
_ACQUIRE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
local fence = redis.call('INCR', KEYS[2])
local floor = tonumber(ARGV[3])
if fence <= floor then
  fence = floor + 1
  redis.call('SET', KEYS[2], fence)
end
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. fence, 'PX', ARGV[2])
return fence
"""
# KEYS: lease. ARGV: value, ttl_ms.
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
# KEYS: lease. ARGV: value.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class WriterLease:
    """Acquire, renew and release the routing writer's lease for one process."""

    def __init__(self, redis: Redis, *, holder: str, ttl_s: float, prefix: str) -> None:
        self._redis = redis
        self.holder = holder
        self.ttl_ms = max(1, int(ttl_s * 1000))
        self._lease_key = f"{prefix}writer:lease"
        self._counter_key = f"{prefix}writer:fence"

    async def acquire(self, database_fence: int) -> int | None:
        """The new fence if this process now holds the lease, or None if another does."""
        fence = await self._redis.eval(
            _ACQUIRE,
            2,
            self._lease_key,
            self._counter_key,
            self.holder,
            self.ttl_ms,
            database_fence,
        )
        return None if fence is None else int(fence)

    async def renew(self, fence: int) -> bool:
        """Extend the lease; False when it is no longer this process's."""
        renewed = await self._redis.eval(
            _RENEW, 1, self._lease_key, self._value(fence), self.ttl_ms
        )
        return bool(renewed)

    async def release(self, fence: int) -> None:
        """Give the lease up at once (if still held), so a standby need not wait for it to lapse."""
        await self._redis.eval(_RELEASE, 1, self._lease_key, self._value(fence))

    async def holder_now(self) -> str | None:
        """Who holds the lease now (`holder|fence`), or None while nobody does."""
        value = await self._redis.get(self._lease_key)
        return None if value is None else cast(bytes, value).decode()

    def _value(self, fence: int) -> str:
        return f"{self.holder}|{fence}"
