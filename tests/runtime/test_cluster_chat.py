"""A web chat whose claimant and agent are connected to two different server processes.

Two `switchboard serve` processes share PostgreSQL and Redis (benchmarks/cluster.py); the
claimant's socket is on one, the agent's desk on the other, and they talk as if on one.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import websockets

from benchmarks.cluster import QUEUE, Cluster, Server, sign_in
from tests.services import require_postgres, require_redis

pytestmark = [pytest.mark.integration, pytest.mark.serial, pytest.mark.timeout(120)]

WAIT_S = 10.0


@pytest.fixture
async def cluster() -> AsyncIterator[Cluster]:
    """Two server processes on a fresh database with one agent, on the test Redis."""
    async with Cluster(require_postgres(), require_redis(), processes=2, agents=1) as running:
        yield running


def _ws(server: Server, path: str) -> str:
    return server.url.replace("http://", "ws://") + path


async def _until(socket: Any, wanted: str) -> dict[str, Any]:
    """Frames until one of type `wanted` (bounded in time); that frame."""
    async with asyncio.timeout(WAIT_S):
        while True:
            frame: dict[str, Any] = json.loads(await socket.recv())
            if frame["type"] == wanted:
                return frame


async def test_a_claimant_on_one_process_and_an_agent_on_the_other_talk_both_ways(
    cluster: Cluster,
) -> None:
    claimant_side, agent_side = cluster.servers
    agent = cluster.agents[0]
    async with httpx.AsyncClient(timeout=WAIT_S) as http:
        started = await http.post(
            f"{claimant_side.url}/api/v1/chats",
            json={"name": "José Ramírez", "language": "es", "topic": QUEUE, "message": "Hola"},
        )
        assert started.status_code == 201, started.text
        chat = started.json()
        async with (
            websockets.connect(_ws(claimant_side, "/ws/chat")) as claimant,
            websockets.connect(_ws(agent_side, "/ws/agent")) as desk,
        ):
            await claimant.send(
                json.dumps({"type": "hello", "token": chat["token"], "last_seq": 1})
            )
            await _until(claimant, "welcome")
            headers = await sign_in(http, agent_side, agent, available=False)
            token = headers["Authorization"].removeprefix("Bearer ")
            await desk.send(json.dumps({"type": "hello", "token": token, "last_seq": {}}))
            await _until(desk, "welcome")
            presence = await http.put(
                f"{agent_side.url}/api/v1/agents/{agent.id}/presence",
                json={"state": "available"},
                headers=headers,
            )
            assert presence.status_code == 200, presence.text
            offer = await _until(desk, "offer")
            assert offer["interaction_id"] == chat["interaction_id"]
            accepted = await http.post(
                f"{agent_side.url}/api/v1/interactions/{chat['interaction_id']}/accept",
                headers=headers,
            )
            assert accepted.status_code == 200, accepted.text
            joined = await _until(claimant, "agent_joined")
            assert joined["agent"]["first_name"]

            await claimant.send(
                json.dumps({"type": "message", "client_message_id": "c-1", "body": "¿Me oye?"})
            )
            heard = await _until(desk, "message")
            while heard["seq"] < 2:  # the first message, replayed when the chat opened
                heard = await _until(desk, "message")
            assert (heard["seq"], heard["from"], heard["body"]) == (2, "customer", "¿Me oye?")

            reply = await http.post(
                f"{agent_side.url}/api/v1/chats/{chat['interaction_id']}/messages",
                json={"client_message_id": "a-1", "body": "Sí, le oigo."},
                headers=headers,
            )
            assert reply.status_code == 201, reply.text
            answer = await _until(claimant, "message")
            while answer["seq"] < 3:  # its own message comes back first
                answer = await _until(claimant, "message")
            assert (answer["seq"], answer["from"], answer["body"]) == (3, "agent", "Sí, le oigo.")


async def test_a_claimant_reconnecting_to_the_other_process_gets_exactly_what_it_missed(
    cluster: Cluster,
) -> None:
    first, second = cluster.servers
    async with httpx.AsyncClient(timeout=WAIT_S) as http:
        chat = (
            await http.post(
                f"{first.url}/api/v1/chats",
                json={"name": "Ana", "language": "en", "topic": QUEUE, "message": "one"},
            )
        ).json()
        claimant_headers = {"Authorization": f"Bearer {chat['token']}"}
        for body in ("two", "three"):
            sent = await http.post(
                f"{first.url}/api/v1/chats/{chat['interaction_id']}/messages",
                json={"body": body},
                headers=claimant_headers,
            )
            assert sent.status_code == 201, sent.text
        async with websockets.connect(_ws(second, "/ws/chat")) as claimant:
            await claimant.send(
                json.dumps({"type": "hello", "token": chat["token"], "last_seq": 1})
            )
            await _until(claimant, "welcome")
            replayed = [await _until(claimant, "message") for _ in range(2)]
    assert [(frame["seq"], frame["body"]) for frame in replayed] == [(2, "two"), (3, "three")]
