"""`/ws/supervisor`: who may open it, what it pushes, and one snapshot per tick for all."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from websockets.asyncio.client import connect

from tests.channels.conftest import WAIT_S, Peer, quiesce
from tests.conftest import Caller
from tests.supervisors.test_api import QUEUE, start_chat
from tests.world import add_agent, add_queue, resources_of

TICK_S = 0.2


@pytest.fixture
async def fast_ticks(app: FastAPI) -> None:
    """The live board ticks five times a second, so the tests wait less."""
    resources_of(app).live.tick_s = TICK_S


@asynccontextmanager
async def dashboard(app: FastAPI, live_url: str, token: str) -> AsyncIterator[Peer]:
    """A `/ws/supervisor` socket that sent its hello with `token`."""
    async with connect(
        f"ws://{live_url}/ws/supervisor", open_timeout=WAIT_S, close_timeout=WAIT_S
    ) as ws:
        peer = Peer(ws)
        await peer.send({"type": "hello", "token": token})
        try:
            yield peer
        finally:
            await quiesce(app)


def _token(caller: Caller) -> str:
    return caller.headers["Authorization"].removeprefix("Bearer ")


async def test_a_supervisor_is_welcomed_with_a_snapshot_then_gets_one_each_tick(
    app: FastAPI, live_url: str, supervisor: Caller, fast_ticks: None
) -> None:
    await add_queue(app, QUEUE, {"ui": 1})
    async with dashboard(app, live_url, _token(supervisor)) as peer:
        welcome = await peer.receive()
        assert welcome["type"] == "welcome"
        assert welcome["user"]["role"] == "supervisor"
        assert [q["name"] for q in welcome["snapshot"]["queues"]] == [QUEUE]
        assert "points" in welcome["history"]
        frames = await peer.until("snapshot")
        assert frames[-1]["queues"][0]["waiting"] == 0


async def test_an_agent_is_refused_with_4403(
    app: FastAPI, live_url: str, agent_caller: Caller
) -> None:
    async with dashboard(app, live_url, _token(agent_caller)) as peer:
        assert await peer.closed() == 4403


async def test_a_bad_token_is_refused_with_4401(app: FastAPI, live_url: str) -> None:
    async with dashboard(app, live_url, "not-a-token") as peer:
        assert await peer.closed() == 4401


async def test_twenty_dashboards_cost_one_snapshot_per_tick(
    app: FastAPI, live_url: str, supervisor: Caller, fast_ticks: None
) -> None:
    board = resources_of(app).live
    async with contextlib.AsyncExitStack() as stack:
        peers = [
            await stack.enter_async_context(dashboard(app, live_url, _token(supervisor)))
            for _ in range(20)
        ]
        for peer in peers:
            await peer.until("welcome")
        before = board.builds
        started = asyncio.get_running_loop().time()
        # Each dashboard sees three more ticks.
        await asyncio.gather(*(_snapshots(peer, 3) for peer in peers))
        elapsed = asyncio.get_running_loop().time() - started
        built = board.builds - before
    ticks = elapsed / TICK_S
    # Built per viewer, it would be 60 or more. One tick may be under way as the timing
    # starts and another as it ends: hence + 2.
    assert built <= ticks + 2, f"{built} snapshots in {ticks:.1f} ticks for 20 dashboards"
    for _ in range(500):  # the server notices the last dashboard leave
        if board.viewer_count == 0:
            break
        await asyncio.sleep(0.01)
    assert board.viewer_count == 0


async def _snapshots(peer: Peer, count: int) -> list[dict[str, Any]]:
    frames: list[dict[str, Any]] = []
    for _ in range(count):
        frames += await peer.until("snapshot")
    return frames


async def test_a_monitored_chat_streams_its_messages_and_whispers(
    app: FastAPI,
    live_url: str,
    client: httpx.AsyncClient,
    supervisor: Caller,
    fast_ticks: None,
) -> None:
    await add_queue(app, QUEUE, {"ui": 1})
    chat = await start_chat(client)
    interaction_id = chat["interaction_id"]
    async with dashboard(app, live_url, _token(supervisor)) as peer:
        await peer.until("welcome")
        await peer.send({"type": "monitor", "interaction_id": interaction_id})
        frames = await peer.until("monitor_message", seq=1)
        assert [f["type"] for f in frames if f["type"].startswith("monitor")] == [
            "monitoring",
            "monitor_message",
        ]
        claimant = {"Authorization": f"Bearer {chat['token']}"}
        sent = await client.post(
            f"/api/v1/chats/{interaction_id}/messages",
            json={"body": "¿Hola?", "client_message_id": "c-2"},
            headers=claimant,
        )
        assert sent.status_code in (200, 201), sent.text
        second = (await peer.until("monitor_message", seq=2))[-1]
        assert (second["body"], second["from"]) == ("¿Hola?", "customer")
        whisper = await client.post(
            f"/api/v1/supervisor/interactions/{interaction_id}/whisper",
            json={"body": "Check the payment date."},
            headers=supervisor.headers,
        )
        assert whisper.status_code == 201
        third = (await peer.until("monitor_message", seq=3))[-1]
        assert (third["from"], third["internal"]) == ("supervisor", True)


async def test_monitoring_an_unknown_interaction_is_an_error_frame(
    app: FastAPI, live_url: str, supervisor: Caller
) -> None:
    async with dashboard(app, live_url, _token(supervisor)) as peer:
        await peer.until("welcome")
        await peer.send(
            {"type": "monitor", "interaction_id": "00000000-0000-0000-0000-000000000000"}
        )
        error = (await peer.until("error"))[-1]
        assert error["code"] == "interaction_not_found"


async def test_a_whisper_reaches_the_agent_desk_of_the_chat(
    app: FastAPI, live_url: str, client: httpx.AsyncClient, supervisor: Caller
) -> None:
    await add_queue(app, QUEUE, {"ui": 1})
    agent = await add_agent(app, "ana", {"ui": 5})
    chat = await start_chat(client)
    interaction_id = chat["interaction_id"]
    accepted = await client.post(
        f"/api/v1/interactions/{interaction_id}/accept", headers=agent.headers
    )
    assert accepted.status_code == 200, accepted.text
    hello = {"type": "hello", "token": _token(agent), "last_seq": {}}
    async with connect(f"ws://{live_url}/ws/agent", open_timeout=WAIT_S) as ws:
        desk = Peer(ws)
        await desk.send(hello)
        await desk.until("message", interaction_id=interaction_id, seq=1)
        response = await client.post(
            f"/api/v1/supervisor/interactions/{interaction_id}/whisper",
            json={"body": "Offer the RESEA appointment."},
            headers=supervisor.headers,
        )
        assert response.status_code == 201
        whisper = (await desk.until("message", interaction_id=interaction_id, seq=2))[-1]
        assert (whisper["from"], whisper["internal"]) == ("supervisor", True)
        assert whisper["body"] == "Offer the RESEA appointment."
        await quiesce(app)
