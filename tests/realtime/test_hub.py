"""The per-process hub: one bus subscription fanned out to listeners by interaction and agent."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from app.realtime import hub as hub_module
from app.realtime.bus import InProcessBus
from app.realtime.hub import RESYNC, Hub, agent_key, interaction_key


@pytest.fixture
async def bus() -> AsyncIterator[InProcessBus]:
    """An in-process bus."""
    bus = InProcessBus()
    yield bus
    await bus.close()


@pytest.fixture
async def hub(bus: InProcessBus) -> AsyncIterator[Hub]:
    """A started hub on `bus`."""
    hub = Hub(bus)
    await hub.start()
    yield hub
    await hub.stop()


async def _event(bus: InProcessBus, **data: Any) -> None:
    payload = {"id": "1", "type": "interaction.offered", "data": data}
    await bus.publish(hub_module.EVENTS_CHANNEL, json.dumps(payload).encode())


async def _next(listener: hub_module.Listener) -> Any:
    async with asyncio.timeout(2):
        return await listener.get()


async def test_an_event_reaches_the_listeners_of_its_interaction_and_its_agent(
    bus: InProcessBus, hub: Hub
) -> None:
    of_chat = hub.listen(interaction_key("i1"))
    of_agent = hub.listen(agent_key("a1"))
    await _event(bus, interaction_id="i1", agent_id="a1")
    assert (await _next(of_chat))["data"]["interaction_id"] == "i1"
    assert (await _next(of_agent))["type"] == "interaction.offered"


async def test_a_listener_of_both_keys_hears_an_event_once(bus: InProcessBus, hub: Hub) -> None:
    both = hub.listen(interaction_key("i1"), agent_key("a1"))
    await _event(bus, interaction_id="i1", agent_id="a1")
    await _event(bus, interaction_id="i2", agent_id="a1")
    first, second = await _next(both), await _next(both)
    assert [first["data"]["interaction_id"], second["data"]["interaction_id"]] == ["i1", "i2"]


async def test_a_chat_signal_reaches_the_listeners_of_its_interaction(hub: Hub) -> None:
    listener = hub.listen(interaction_key("i1"))
    await hub.publish_chat({"type": "typing", "interaction_id": "i1", "typing": True})
    frame = await _next(listener)
    assert (frame["type"], frame["channel"]) == ("typing", hub_module.CHAT_CHANNEL)


async def test_a_closed_listener_hears_nothing_more(bus: InProcessBus, hub: Hub) -> None:
    listener = hub.listen(interaction_key("i1"))
    listener.close()
    await _event(bus, interaction_id="i1")
    assert hub.listener_count == 0


async def test_a_waiting_reader_wakes_for_a_frame_offered_later(
    bus: InProcessBus, hub: Hub
) -> None:
    listener = hub.listen(interaction_key("i1"))
    reading = asyncio.create_task(_next(listener))
    await asyncio.sleep(0.05)  # the reader is waiting on an empty listener
    assert not reading.done()
    await _event(bus, interaction_id="i1")
    assert (await reading)["data"]["interaction_id"] == "i1"


async def test_a_stopped_listener_lets_its_waiting_reader_go(hub: Hub) -> None:
    listener = hub.listen(interaction_key("i1"))
    reading = asyncio.create_task(listener.get_batch())
    await asyncio.sleep(0.05)
    listener.stop()
    async with asyncio.timeout(2):
        assert await reading is None


async def test_a_cancelled_reader_leaves_the_listener_usable(bus: InProcessBus, hub: Hub) -> None:
    listener = hub.listen(interaction_key("i1"))
    reading = asyncio.create_task(listener.get())
    await asyncio.sleep(0.05)
    reading.cancel()
    with pytest.raises(asyncio.CancelledError):
        await reading
    await _event(bus, interaction_id="i1")
    assert (await _next(listener))["data"]["interaction_id"] == "i1"


async def test_a_listener_that_fell_behind_is_told_to_resync(
    monkeypatch: pytest.MonkeyPatch, bus: InProcessBus, hub: Hub
) -> None:
    monkeypatch.setattr(hub_module, "LISTENER_BUFFER", 2)
    listener = hub.listen(interaction_key("i1"))
    for _ in range(3):
        await _event(bus, interaction_id="i1")
    await asyncio.sleep(0.05)
    assert await _next(listener) is RESYNC


async def test_listeners_resync_after_the_hub_subscribes_again(
    monkeypatch: pytest.MonkeyPatch, bus: InProcessBus
) -> None:
    monkeypatch.setattr("app.realtime.bus.SUBSCRIBER_BUFFER", 1)
    monkeypatch.setattr(hub_module, "RECONNECT_DELAY_S", 0.01)
    hub = Hub(bus)
    listener = hub.listen(interaction_key("i1"))
    await hub.start()
    try:
        # Two publications before the hub reads overflow its bus subscription: it is dropped.
        await _event(bus, interaction_id="i1")
        await _event(bus, interaction_id="i1")
        frames = [await _next(listener) for _ in range(2)]
        assert frames[-1] is RESYNC
    finally:
        await hub.stop()


async def test_sockets_are_counted_per_subject(hub: Hub) -> None:
    assert hub.socket_opened("claimant:i1") == 1
    assert hub.socket_opened("claimant:i1") == 2
    assert hub.socket_closed("claimant:i1") == 1
    assert hub.socket_closed("claimant:i1") == 0
