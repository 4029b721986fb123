"""One way to open a Redis client, with the pool and retry behaviour every user here needs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

# A burst of requests waits for a free connection instead of failing with "Too many
# connections"; the wait is bounded so a stuck Redis still ends in a clear 503.
MAX_CONNECTIONS = 64
CONNECTION_WAIT_S = 5.0


def open_redis(
    url: str, *, socket_timeout: float | None, max_connections: int = MAX_CONNECTIONS
) -> Redis:
    """A client on a bounded, blocking pool that retries a command once it lost its socket.

    After Redis restarts, every pooled connection is dead; without the retry the first
    command on each of them would fail although Redis is back.
    """
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=CONNECTION_WAIT_S,
        socket_connect_timeout=2,
        socket_timeout=socket_timeout,
        health_check_interval=30,
        retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), retries=2),
        retry_on_error=[RedisConnectionError],
    )
    return Redis.from_pool(pool)


async def close_pubsub(pubsub: PubSub) -> None:
    """Close a pub/sub connection (typed here once: some redis releases leave it untyped)."""
    close: Callable[[], Awaitable[None]] = pubsub.aclose
    await close()
