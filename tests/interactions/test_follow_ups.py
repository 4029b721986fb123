"""Follow-ups promised at wrap-up: stored, then created as callbacks for the same agent."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update

from app import clock
from app.interactions.follow_ups import FollowUpScheduler
from app.interactions.models import FollowUp, Interaction
from tests.conftest import Caller, CallerFactory
from tests.world import add_agent, add_queue, resources_of

CHAT = {"channel": "chat", "queue": "Unemployment Insurance", "customer": {"name": "Ana Díaz"}}


@pytest.fixture
async def agent(app: FastAPI) -> Caller:
    """An available agent who can take the queue's chats and calls."""
    await add_queue(app, "Unemployment Insurance", {"ui": 1})
    return await add_agent(app, "maria", {"ui": 5})


@pytest.fixture
async def in_wrap_up(
    client: httpx.AsyncClient, integrator_caller: CallerFactory, agent: Caller
) -> str:
    """A chat the agent accepted and ended: its id, now in wrap-up."""
    integrator = await integrator_caller()
    created = await client.post("/api/v1/interactions", json=CHAT, headers=integrator.headers)
    interaction_id: str = created.json()["id"]
    for action in ("accept", "complete"):
        answer = await client.post(
            f"/api/v1/interactions/{interaction_id}/{action}", headers=agent.headers
        )
        assert answer.status_code == 200, answer.text
    return interaction_id


async def _finish(
    client: httpx.AsyncClient, agent: Caller, interaction_id: str, **body: object
) -> httpx.Response:
    return await client.post(
        f"/api/v1/interactions/{interaction_id}/finish-wrap-up", json=body, headers=agent.headers
    )


async def test_a_follow_up_in_the_past_is_refused_naming_the_field(
    client: httpx.AsyncClient, agent: Caller, in_wrap_up: str
) -> None:
    past = (clock.utcnow() - timedelta(hours=1)).isoformat()
    response = await _finish(client, agent, in_wrap_up, follow_up_at=past)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.follow_up_at"


async def test_a_follow_up_without_a_utc_offset_is_refused(
    client: httpx.AsyncClient, agent: Caller, in_wrap_up: str
) -> None:
    naive = (clock.utcnow() + timedelta(hours=1)).replace(tzinfo=None).isoformat()
    response = await _finish(client, agent, in_wrap_up, follow_up_at=naive)
    assert response.status_code == 422
    assert "offset" in response.json()["errors"][0]["message"]


async def test_a_due_follow_up_becomes_a_callback_offered_to_the_same_agent_once(
    app: FastAPI, client: httpx.AsyncClient, agent: Caller, in_wrap_up: str
) -> None:
    later = (clock.utcnow() + timedelta(hours=2)).isoformat()
    response = await _finish(
        client, agent, in_wrap_up, follow_up_at=later, follow_up_note="Call about the appeal"
    )
    assert response.status_code == 200, response.text
    resources = resources_of(app)
    scheduler = FollowUpScheduler(resources)
    assert await scheduler.check_once() == 0  # not due yet
    async with resources.sessions() as session:
        await session.execute(update(FollowUp).values(due_at=clock.utcnow() - timedelta(seconds=1)))
        await session.commit()
    assert await scheduler.check_once() == 1
    assert await scheduler.check_once() == 0
    async with resources.sessions() as session:
        callback = await session.scalar(
            select(Interaction).where(Interaction.id != uuid.UUID(in_wrap_up))
        )
    assert callback is not None
    assert callback.channel.value == "voice"
    assert callback.attributes["follow_up_of"] == in_wrap_up
    assert callback.attributes["follow_up_note"] == "Call about the appeal"
    assert (callback.state.value, str(callback.agent_id)) == ("offered", agent.id)
