"""Presence over REST: setting one's state, and whom one may transfer to."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from app.routing.model import AgentState
from tests.world import add_agent, add_queue, set_state


async def test_an_agent_sets_itself_busy_with_a_reason(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await add_queue(app, "UI", {"ui": 1})
    maria = await add_agent(app, "maria", {"ui": 5})
    response = await client.put(
        f"/api/v1/agents/{maria.id}/presence",
        json={"state": "busy", "reason": "break"},
        headers=maria.headers,
    )
    assert response.status_code == 200, response.text
    assert (response.json()["state"], response.json()["reason"]) == ("busy", "break")


async def test_agents_may_list_the_colleagues_available_now_but_not_themselves(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await add_queue(app, "UI", {"ui": 1})
    maria = await add_agent(app, "maria", {"ui": 5})
    james = await add_agent(app, "james", {"ui": 5})
    linh = await add_agent(app, "linh", {"ui": 5})
    await set_state(app, linh.id, AgentState.BUSY, "break")
    response = await client.get("/api/v1/agents/available", headers=maria.headers)
    assert response.status_code == 200, response.text
    assert [(row["agent_id"], row["name"]) for row in response.json()] == [(james.id, "james")]


async def test_an_agent_may_not_set_a_colleagues_presence(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await add_queue(app, "UI", {"ui": 1})
    maria = await add_agent(app, "maria", {"ui": 5})
    james = await add_agent(app, "james", {"ui": 5})
    response = await client.put(
        f"/api/v1/agents/{james.id}/presence", json={"state": "offline"}, headers=maria.headers
    )
    assert response.status_code == 403
