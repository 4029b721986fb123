"""A telephony world: a phone queue, an agent with a phone endpoint, an integrator's key."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update

from app.agents.models import Staff
from tests.conftest import Caller, CallerFactory
from tests.webhooks.conftest import receiver  # noqa: F401 - the webhook tests' HTTP receiver
from tests.world import add_agent, add_queue, resources_of

QUEUE = "Claims line"
PHONE_ENDPOINT = "sip:maria.lopez@pbx.esd.example.gov"


@dataclass(frozen=True)
class Telephony:
    """The callers of a telephony test and helpers to post what a PBX would post."""

    client: httpx.AsyncClient
    pbx: Caller
    agent: Caller

    async def create_call(self, call_id: str = "pbx-7f3a9c", **fields: Any) -> str:
        """A voice interaction created by the PBX with its own call id; returns its id."""
        body = {"channel": "voice", "queue": QUEUE, "external_id": call_id, **fields}
        response = await self.client.post(
            "/api/v1/interactions", json=body, headers=self.pbx.headers
        )
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    async def accepted_call(self, call_id: str = "pbx-7f3a9c") -> str:
        """A voice interaction the agent has accepted."""
        interaction_id = await self.create_call(call_id)
        accepted = await self.client.post(
            f"/api/v1/interactions/{interaction_id}/accept", headers=self.agent.headers
        )
        assert accepted.status_code == 200, accepted.text
        return interaction_id

    async def post(self, interaction_id: str, event: str, **fields: Any) -> httpx.Response:
        """Post one call event as the PBX."""
        return await self.client.post(
            f"/api/v1/interactions/{interaction_id}/call-events",
            json={"event": event, **fields},
            headers=self.pbx.headers,
        )


@pytest.fixture
async def telephony(
    app: FastAPI, client: httpx.AsyncClient, integrator_caller: CallerFactory
) -> Telephony:
    """A phone queue with one available agent whose phone endpoint is set, and the PBX's key."""
    await add_queue(app, QUEUE, {"ui": 1})
    agent = await add_agent(app, "maria.lopez", {"ui": 5})
    async with resources_of(app).sessions() as session, session.begin():
        await session.execute(
            update(Staff)
            .where(Staff.username == "maria.lopez")
            .values(phone_endpoint=PHONE_ENDPOINT)
        )
    return Telephony(client, await integrator_caller("PBX"), agent)
