"""The event bus: publish/subscribe by channel, in-process by default, Redis when configured.

Both implementations keep one contract (tested by the same tests): a subscriber receives
every message published on its channel after it subscribed, in publish order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from typing import Protocol

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from app.realtime.redis_client import close_pubsub, open_redis

logger = logging.getLogger(__name__)
SUBSCRIBER_BUFFER = 10_000


class BusUnavailableError(Exception):
    """The bus cannot be reached right now."""


class Subscription(Protocol):
    """Messages arriving on the channels subscribed to; close when done."""

    def __aiter__(self) -> AsyncIterator[tuple[str, bytes]]: ...

    async def close(self) -> None: ...


class Bus(Protocol):
    """Publish bytes on a named channel; subscribe to channels; say whether it answers."""

    async def publish(self, channel: str, payload: bytes) -> None: ...

    async def publish_many(self, messages: Sequence[tuple[str, bytes]]) -> None: ...

    async def subscribe(self, *channels: str) -> Subscription: ...

    async def ping(self) -> None: ...

    async def close(self) -> None: ...


class _LocalSubscription:
    def __init__(self, bus: InProcessBus, channels: tuple[str, ...]) -> None:
        self._bus = bus
        self.channels = channels
        self.inbox: asyncio.Queue[tuple[str, bytes] | None] = asyncio.Queue(SUBSCRIBER_BUFFER)
        # Set when it fell too far behind and was dropped: its reader must learn it missed
        # messages (and subscribe again) instead of waiting forever.
        self.dropped = False

    async def __aiter__(self) -> AsyncIterator[tuple[str, bytes]]:
        while True:
            if self.dropped and self.inbox.empty():
                raise BusUnavailableError("this subscriber fell behind and missed messages")
            item = await self.inbox.get()
            if item is None:
                return
            yield item

    async def close(self) -> None:
        self._bus._remove(self)
        with contextlib.suppress(asyncio.QueueFull):
            self.inbox.put_nowait(None)


class InProcessBus:
    """The embedded bus: one process, no network; messages go straight to subscribers."""

    def __init__(self) -> None:
        self._subscribers: defaultdict[str, set[_LocalSubscription]] = defaultdict(set)
        self._closed = False

    async def publish(self, channel: str, payload: bytes) -> None:
        """Deliver to every current subscriber of `channel`; a full subscriber is dropped."""
        self._check_open()
        for subscription in list(self._subscribers.get(channel, ())):
            try:
                subscription.inbox.put_nowait((channel, payload))
            except asyncio.QueueFull:
                # A consumer that stopped reading must not stall everyone else.
                logger.warning("bus subscriber on %s is not keeping up; closing it", channel)
                subscription.dropped = True
                self._remove(subscription)

    async def publish_many(self, messages: Sequence[tuple[str, bytes]]) -> None:
        """Publish each (channel, payload) in order."""
        for channel, payload in messages:
            await self.publish(channel, payload)

    async def subscribe(self, *channels: str) -> Subscription:
        """Start receiving messages published on `channels` from now on."""
        self._check_open()
        subscription = _LocalSubscription(self, channels)
        for channel in channels:
            self._subscribers[channel].add(subscription)
        return subscription

    async def ping(self) -> None:
        """Always answers while open."""
        self._check_open()

    async def close(self) -> None:
        """Close every subscription and refuse further use."""
        for subscriptions in list(self._subscribers.values()):
            for subscription in list(subscriptions):
                await subscription.close()
        self._closed = True

    def _remove(self, subscription: _LocalSubscription) -> None:
        for channel in subscription.channels:
            self._subscribers[channel].discard(subscription)
            if not self._subscribers[channel]:
                del self._subscribers[channel]

    def _check_open(self) -> None:
        if self._closed:
            raise BusUnavailableError("the in-process bus is closed")


class _RedisSubscription:
    def __init__(self, pubsub: PubSub) -> None:
        self._pubsub = pubsub

    async def __aiter__(self) -> AsyncIterator[tuple[str, bytes]]:
        async for message in self._pubsub.listen():
            if message.get("type") != "message":
                continue
            channel = message["channel"]
            yield (
                (channel.decode() if isinstance(channel, bytes) else str(channel)),
                message["data"],
            )

    async def close(self) -> None:
        await close_pubsub(self._pubsub)


class RedisBus:
    """The bus across processes, on Redis pub/sub; channel names get a common prefix."""

    def __init__(self, url: str, *, prefix: str = "switchboard:") -> None:
        # Subscriptions wait for messages indefinitely (no read timeout), and each holds a
        # connection of its own for as long as it lives, hence the larger pool.
        self._redis: Redis = open_redis(url, socket_timeout=None, max_connections=512)
        self._prefix = prefix

    async def publish(self, channel: str, payload: bytes) -> None:
        """Send to every process subscribed to `channel`."""
        try:
            await self._redis.publish(self._prefix + channel, payload)
        except (OSError, RedisError) as exc:
            raise BusUnavailableError(f"redis: {exc}") from exc

    async def publish_many(self, messages: Sequence[tuple[str, bytes]]) -> None:
        """Publish each (channel, payload) in order, in one round trip."""
        if not messages:
            return
        pipeline = self._redis.pipeline(transaction=False)
        for channel, payload in messages:
            pipeline.publish(self._prefix + channel, payload)
        try:
            await pipeline.execute()
        except (OSError, RedisError) as exc:
            raise BusUnavailableError(f"redis: {exc}") from exc

    async def subscribe(self, *channels: str) -> Subscription:
        """Subscribe before returning, so nothing published afterwards is missed."""
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(*(self._prefix + channel for channel in channels))
        except (OSError, RedisError) as exc:
            await close_pubsub(pubsub)
            raise BusUnavailableError(f"redis: {exc}") from exc
        return _PrefixStrippingSubscription(_RedisSubscription(pubsub), self._prefix)

    async def ping(self) -> None:
        """Raise `BusUnavailableError` unless Redis answers."""
        try:
            await self._redis.ping()
        except Exception as exc:
            raise BusUnavailableError(f"redis: {exc}") from exc

    async def close(self) -> None:
        """Close the connection pool."""
        await self._redis.aclose()


class _PrefixStrippingSubscription:
    def __init__(self, inner: _RedisSubscription, prefix: str) -> None:
        self._inner = inner
        self._prefix = prefix

    async def __aiter__(self) -> AsyncIterator[tuple[str, bytes]]:
        async for channel, payload in self._inner:
            yield channel.removeprefix(self._prefix), payload

    async def close(self) -> None:
        await self._inner.close()


def create_bus(redis_url: str | None, *, prefix: str = "switchboard:") -> Bus:
    """The Redis bus when a URL is configured, the in-process one otherwise."""
    if redis_url:
        return RedisBus(redis_url, prefix=prefix)
    return InProcessBus()
