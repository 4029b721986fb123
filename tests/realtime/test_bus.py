"""One contract for both buses: subscribers get what is published after they subscribe."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from app.realtime.bus import Bus, BusUnavailableError, InProcessBus, RedisBus, Subscription
from tests.services import require_redis


@pytest.fixture(
    params=[
        pytest.param("in-process", id="in-process"),
        pytest.param("redis", id="redis", marks=pytest.mark.integration),
    ]
)
async def bus(request: pytest.FixtureRequest) -> AsyncIterator[Bus]:
    """Each bus implementation in turn; Redis ones get a prefix of their own."""
    if request.param == "in-process":
        implementation: Bus = InProcessBus()
    else:
        implementation = RedisBus(require_redis(), prefix=f"test-{uuid.uuid4().hex}:")
    yield implementation
    await implementation.close()


async def _take(subscription: Subscription, count: int) -> list[tuple[str, bytes]]:
    received: list[tuple[str, bytes]] = []

    async def collect() -> None:
        async for item in subscription:
            received.append(item)
            if len(received) == count:
                return

    await asyncio.wait_for(collect(), timeout=5)
    return received


async def test_a_subscriber_receives_messages_in_publish_order(bus: Bus) -> None:
    subscription = await bus.subscribe("queue.events")
    for number in range(50):
        await bus.publish("queue.events", str(number).encode())
    received = await _take(subscription, 50)
    assert [payload for _, payload in received] == [str(n).encode() for n in range(50)]
    assert {channel for channel, _ in received} == {"queue.events"}
    await subscription.close()


async def test_every_subscriber_of_a_channel_receives_each_message(bus: Bus) -> None:
    first = await bus.subscribe("agent.7")
    second = await bus.subscribe("agent.7")
    await bus.publish("agent.7", b"offer")
    assert await _take(first, 1) == [("agent.7", b"offer")]
    assert await _take(second, 1) == [("agent.7", b"offer")]
    await first.close()
    await second.close()


async def test_messages_on_other_channels_are_not_received(bus: Bus) -> None:
    subscription = await bus.subscribe("mine")
    await bus.publish("theirs", b"not for you")
    await bus.publish("mine", b"for you")
    assert await _take(subscription, 1) == [("mine", b"for you")]
    await subscription.close()


async def test_one_subscription_can_listen_on_several_channels(bus: Bus) -> None:
    subscription = await bus.subscribe("a", "b")
    await bus.publish("a", b"1")
    await bus.publish("b", b"2")
    assert sorted(await _take(subscription, 2)) == [("a", b"1"), ("b", b"2")]
    await subscription.close()


async def test_a_batch_published_at_once_arrives_in_order_on_each_channel(bus: Bus) -> None:
    everything = await bus.subscribe("events")
    agent = await bus.subscribe("agent.7")
    batch = [("events", b"1"), ("agent.7", b"1"), ("events", b"2"), ("agent.7", b"2")]
    await bus.publish_many(batch)
    assert await _take(everything, 2) == [("events", b"1"), ("events", b"2")]
    assert await _take(agent, 2) == [("agent.7", b"1"), ("agent.7", b"2")]
    await everything.close()
    await agent.close()


async def test_ping_answers_while_the_bus_is_up(bus: Bus) -> None:
    await bus.ping()


async def test_a_closed_in_process_bus_refuses_use() -> None:
    bus = InProcessBus()
    await bus.close()
    with pytest.raises(BusUnavailableError):
        await bus.publish("x", b"")
    with pytest.raises(BusUnavailableError):
        await bus.ping()


async def test_an_in_process_subscriber_that_fell_behind_is_told_after_what_it_got(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("app.realtime.bus.SUBSCRIBER_BUFFER", 2)
    bus = InProcessBus()
    subscription = await bus.subscribe("a")
    for number in range(3):  # the third does not fit: the subscriber is dropped
        await bus.publish("a", str(number).encode())
    received: list[bytes] = []
    with pytest.raises(BusUnavailableError):
        async with asyncio.timeout(2):
            async for _channel, payload in subscription:
                received.append(payload)
    assert received == [b"0", b"1"]


async def test_a_redis_bus_without_a_server_says_it_is_unavailable() -> None:
    bus = RedisBus("redis://127.0.0.1:1/0")
    with pytest.raises(BusUnavailableError, match="redis"):
        await bus.ping()
    with pytest.raises(BusUnavailableError):
        await bus.publish("x", b"")
    await bus.close()
