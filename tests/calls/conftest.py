"""Two call worlds. Telephony: a phone queue, an agent with a phone endpoint, an
integrator's key. Web calls: the app served on 127.0.0.1 (its grace check asleep), Ana at
her desk, a video call she accepted, and the frames claimant and agent send."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update

from app import clock
from app.agents.models import Staff
from app.auth.tokens import issue_claimant_token
from app.main import create_app
from app.settings import Settings
from tests.channels.conftest import QUEUE as CHAT_QUEUE
from tests.channels.conftest import SKILL, Agent, Sockets, add_chat_agent, quiet_grace_keeper
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


# --- web calls ---------------------------------------------------------------------------


@pytest.fixture
async def app(
    migrated_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[FastAPI]:
    """The application, its own grace check asleep."""
    quiet_grace_keeper(monkeypatch)
    application = create_app(migrated_settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
def sockets(app: FastAPI, live_url: str) -> Sockets:
    """Websockets to `app` served on 127.0.0.1."""
    return Sockets(app, live_url)


@pytest.fixture
async def ana(app: FastAPI) -> Agent:
    """Ana Ruiz, available, in front of the Unemployment Insurance queue."""
    await add_queue(app, CHAT_QUEUE, {SKILL: 3})
    return await add_chat_agent(app, "ana.ruiz", "Ana Ruiz")


@dataclass(frozen=True)
class Call:
    """A voice or video interaction and its claimant's token."""

    id: str
    token: str


async def new_call(
    app: FastAPI, client: httpx.AsyncClient, staff_caller: CallerFactory, channel: str = "video"
) -> Call:
    """A call created through the REST API, with a claimant token for it (as the web page
    that starts a call gets one)."""
    admin = await staff_caller()
    body = {"channel": channel, "queue": CHAT_QUEUE, "customer": {"name": "José Ramírez"}}
    response = await client.post("/api/v1/interactions", json=body, headers=admin.headers)
    assert response.status_code == 201, response.text
    interaction_id = str(response.json()["id"])
    token = issue_claimant_token(
        resources_of(app).secret_key,
        interaction_id=interaction_id,
        name="José Ramírez",
        now=clock.now_s(),
    )
    return Call(interaction_id, token.token)


@pytest.fixture
async def call(
    app: FastAPI, client: httpx.AsyncClient, staff_caller: CallerFactory, ana: Agent
) -> Call:
    """A video call Ana accepted."""
    created = await new_call(app, client, staff_caller)
    response = await client.post(f"/api/v1/interactions/{created.id}/accept", headers=ana.headers)
    assert response.status_code == 200, response.text
    return created


def signal(interaction_id: str, kind: str, **fields: Any) -> dict[str, Any]:
    """A client's signal frame."""
    return {
        "type": "signal",
        "interaction_id": interaction_id,
        "call_id": interaction_id,
        "kind": kind,
        **fields,
    }
