"""Call signaling whose claimant and agent are connected to two different server processes:
the frames go through Redis like chat messages (benchmarks/cluster.py)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import websockets

from app import clock
from app.auth.tokens import issue_claimant_token
from benchmarks.cluster import QUEUE, Cluster, Server, sign_in
from tests.services import require_postgres, require_redis

pytestmark = [pytest.mark.integration, pytest.mark.serial, pytest.mark.timeout(120)]

WAIT_S = 10.0
SDP = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\n"


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


def _signal(interaction_id: str, kind: str, **fields: Any) -> str:
    return json.dumps(
        {
            "type": "signal",
            "interaction_id": interaction_id,
            "call_id": interaction_id,
            "kind": kind,
            **fields,
        }
    )


async def test_a_claimant_and_an_agent_on_two_processes_exchange_offer_and_answer(
    cluster: Cluster,
) -> None:
    claimant_side, agent_side = cluster.servers
    agent = cluster.agents[0]
    async with httpx.AsyncClient(timeout=WAIT_S) as http:
        headers = await sign_in(http, agent_side, agent)
        created = await http.post(
            f"{claimant_side.url}/api/v1/interactions",
            json={"channel": "video", "queue": QUEUE, "customer": {"name": "José Ramírez"}},
            headers={"X-API-Key": cluster.api_key},
        )
        assert created.status_code == 201, created.text
        call_id = str(created.json()["id"])
        accepted = await http.post(
            f"{agent_side.url}/api/v1/interactions/{call_id}/accept", headers=headers
        )
        assert accepted.status_code == 200, accepted.text
    claimant_token = issue_claimant_token(
        cluster.secret_key, interaction_id=call_id, name="José Ramírez", now=clock.now_s()
    ).token
    agent_token = headers["Authorization"].removeprefix("Bearer ")
    async with (
        websockets.connect(_ws(claimant_side, "/ws/chat")) as claimant,
        websockets.connect(_ws(agent_side, "/ws/agent")) as desk,
    ):
        await claimant.send(json.dumps({"type": "hello", "token": claimant_token, "last_seq": 0}))
        await desk.send(json.dumps({"type": "hello", "token": agent_token, "last_seq": {}}))
        await _until(claimant, "welcome")
        await _until(desk, "welcome")
        await claimant.send(_signal(call_id, "offer", sdp=SDP))
        offer = await _until(desk, "signal")
        await desk.send(_signal(call_id, "answer", sdp=SDP))
        answer = await _until(claimant, "signal")
    assert (offer["kind"], offer["from"], offer["sdp"]) == ("offer", "customer", SDP)
    assert (answer["kind"], answer["from"], answer["sdp"]) == ("answer", "agent", SDP)
