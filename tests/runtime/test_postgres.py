"""The routing service on PostgreSQL: a lifecycle through the API, then a restart."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from app import clock
from app.auth.principals import Role
from app.auth.tokens import issue_staff_token
from app.db.migrate import upgrade_async
from app.routing.model import InteractionId, InteractionState
from app.settings import load_settings
from tests.conftest import Caller
from tests.runtime.test_recovery import running
from tests.world import add_agent, add_queue, engine_of, resources_of

pytestmark = pytest.mark.integration


async def test_a_chat_lives_and_survives_a_restart_on_postgresql(
    postgres_database_url: str, tmp_path: Path
) -> None:
    settings = load_settings(data_dir=tmp_path / "data", database_url=postgres_database_url)
    await upgrade_async(settings.effective_database_url)
    async with running(settings) as (app, client):
        await add_queue(app, "UI", {"ui": 1})
        agent = await add_agent(app, "maria", {"ui": 5}, chats=1)
        token = issue_staff_token(
            resources_of(app).secret_key,
            staff_id=str(uuid.uuid4()),
            role=Role.ADMIN,
            name="admin",
            now=clock.now_s(),
        ).token
        admin = Caller("admin", {"Authorization": f"Bearer {token}"})
        body = {"channel": "chat", "queue": "UI"}
        first = await client.post(
            "/api/v1/interactions", json=body, headers={**admin.headers, "Idempotency-Key": "a"}
        )
        again = await client.post(
            "/api/v1/interactions", json=body, headers={**admin.headers, "Idempotency-Key": "a"}
        )
        assert again.json() == first.json()
        waiting = (
            await client.post("/api/v1/interactions", json=body, headers=admin.headers)
        ).json()
        assert waiting["position"] == 1
        chat = first.json()["id"]
        for action in ("accept", "complete", "finish-wrap-up"):
            response = await client.post(
                f"/api/v1/interactions/{chat}/{action}", headers=agent.headers
            )
            assert response.status_code == 200, response.text
        detail = (await client.get(f"/api/v1/interactions/{chat}", headers=admin.headers)).json()
        assert detail["state"] == "completed" and detail["answered_at"] and detail["ended_at"]
    async with running(settings) as (app, _):
        view = engine_of(app).interaction(InteractionId(waiting["id"]))
        assert view is not None and view.state is InteractionState.OFFERED
        assert view.agent_id == agent.id
