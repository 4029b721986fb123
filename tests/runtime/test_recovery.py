"""Restarts lose nothing acknowledged; the sweep repairs drift; a failed store is never a yes."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update

from app import clock
from app.auth.principals import Role
from app.auth.tokens import issue_staff_token
from app.interactions.models import Interaction
from app.main import create_app
from app.routing.model import InteractionId, InteractionState
from app.runtime import persistence, worker
from app.settings import Settings
from tests.conftest import Caller
from tests.world import add_agent, add_queue, engine_of, resources_of

CHAT = {"channel": "chat", "queue": "UI", "customer": {"name": "Ana"}}

AppFactory = Callable[[], "asynccontextmanager[tuple[FastAPI, httpx.AsyncClient]]"]


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """One lifetime of the service on `settings`' database: start, serve, stop."""
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            yield application, client


def _admin(app: FastAPI) -> Caller:
    token = issue_staff_token(
        resources_of(app).secret_key,
        staff_id=str(uuid.uuid4()),
        role=Role.ADMIN,
        name="admin",
        now=clock.now_s(),
    )
    return Caller("admin", {"Authorization": f"Bearer {token.token}"})


async def _create(client: httpx.AsyncClient, caller: Caller, priority: int = 0) -> str:
    response = await client.post(
        "/api/v1/interactions", json={**CHAT, "priority": priority}, headers=caller.headers
    )
    assert response.status_code == 201, response.text
    identifier: str = response.json()["id"]
    return identifier


async def test_waiting_interactions_come_back_in_their_order_after_a_restart(
    migrated_settings: Settings,
) -> None:
    async with running(migrated_settings) as (app, client):
        await add_queue(app, "UI", {"ui": 1})
        admin = _admin(app)
        ids = [await _create(client, admin) for _ in range(3)]
        urgent = await _create(client, admin, priority=5)
        before = {i: engine_of(app).interaction(InteractionId(i)) for i in ids}
    async with running(migrated_settings) as (app, client):
        engine = engine_of(app)
        positions = [engine.position(InteractionId(i)) for i in [urgent, *ids]]
        assert [place[0] for place in positions if place] == [1, 2, 3, 4]
        for interaction_id, view in before.items():
            restored = engine.interaction(InteractionId(interaction_id))
            assert restored is not None and view is not None
            assert restored.seq == view.seq
            assert restored.queued_at == pytest.approx(view.queued_at, abs=1e-6)


async def test_an_active_chat_comes_back_on_its_agent_after_a_restart(
    migrated_settings: Settings,
) -> None:
    async with running(migrated_settings) as (app, client):
        await add_queue(app, "UI", {"ui": 1})
        agent = await add_agent(app, "maria", {"ui": 5}, chats=2)
        interaction_id = await _create(client, _admin(app))
        accepted = await client.post(
            f"/api/v1/interactions/{interaction_id}/accept", headers=agent.headers
        )
        assert accepted.json()["state"] == "active"
    async with running(migrated_settings) as (app, client):
        engine = engine_of(app)
        view = engine.interaction(InteractionId(interaction_id))
        assert view is not None and view.state is InteractionState.ACTIVE
        assert view.agent_id == agent.id
        presence = engine.agent(view.agent_id)
        assert presence is not None and presence.state.value == "available"
        assert presence.interactions == (interaction_id,)


async def test_an_offer_in_flight_is_made_again_after_a_restart(
    migrated_settings: Settings,
) -> None:
    async with running(migrated_settings) as (app, client):
        await add_queue(app, "UI", {"ui": 1})
        agent = await add_agent(app, "maria", {"ui": 5})
        interaction_id = await _create(client, _admin(app))
    async with running(migrated_settings) as (app, client):
        view = engine_of(app).interaction(InteractionId(interaction_id))
        assert view is not None
        assert (view.state, view.agent_id) == (InteractionState.OFFERED, agent.id)


async def test_a_failed_store_answers_503_and_keeps_nothing(
    app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    await add_queue(app, "UI", {"ui": 1})
    admin = _admin(app)
    real = persistence.persist_batch

    async def failing(*args: object, **kwargs: object) -> object:
        raise OSError("disk full")

    monkeypatch.setattr(worker, "persist_batch", failing)
    response = await client.post("/api/v1/interactions", json=CHAT, headers=admin.headers)
    assert response.status_code == 503
    assert response.headers["retry-after"] == "2"
    monkeypatch.setattr(worker, "persist_batch", real)
    assert engine_of(app).interaction_ids() == []
    async with resources_of(app).sessions() as session:
        assert (await session.scalars(select(Interaction))).all() == []
    assert (
        await client.post("/api/v1/interactions", json=CHAT, headers=admin.headers)
    ).status_code == 201


async def test_the_sweep_restores_an_open_interaction_the_engine_never_had(
    app: FastAPI, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    queue_id = await add_queue(app, "UI", {"ui": 1})
    first = await _create(client, _admin(app))
    # Drift: a waiting interaction stored without the engine hearing of it.
    stray = uuid.uuid4()
    async with resources_of(app).sessions() as session, session.begin():
        session.add(
            Interaction(
                id=stray,
                channel="chat",
                state=InteractionState.QUEUED,
                queue_id=queue_id,
                queued_at=clock.utcnow(),
                queue_seq=1_000,
            )
        )
    routing = resources_of(app).routing
    await routing.sweep()
    assert engine_of(app).position(InteractionId(str(stray))) == (2, None)
    assert engine_of(app).position(InteractionId(first)) == (1, None)
    assert f"interaction {stray} is queued in the database but unknown" in caplog.text


async def test_the_sweep_withdraws_what_the_database_ended(
    app: FastAPI, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    await add_queue(app, "UI", {"ui": 1})
    interaction_id = await _create(client, _admin(app))
    async with resources_of(app).sessions() as session, session.begin():
        await session.execute(
            update(Interaction)
            .where(Interaction.id == uuid.UUID(interaction_id))
            .values(state=InteractionState.CANCELLED)
        )
    await resources_of(app).routing.sweep()
    assert engine_of(app).interaction(InteractionId(interaction_id)) is None
    assert "open in the engine but cancelled in the database" in caplog.text


async def test_the_sweep_sets_a_deactivated_agent_offline(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    from app.agents.models import Staff

    agent = await add_agent(app, "maria", {"ui": 5})
    async with resources_of(app).sessions() as session, session.begin():
        await session.execute(
            update(Staff).where(Staff.id == uuid.UUID(agent.id)).values(active=False)
        )
    await resources_of(app).routing.sweep()
    view = engine_of(app).agent(agent.id)  # type: ignore[arg-type]
    assert view is not None and view.state.value == "offline"


async def test_an_agent_given_another_role_leaves_routing(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    from app.agents.models import Staff, StaffRole

    agent = await add_agent(app, "maria", {"ui": 5})
    async with resources_of(app).sessions() as session, session.begin():
        await session.execute(
            update(Staff).where(Staff.id == uuid.UUID(agent.id)).values(role=StaffRole.SUPERVISOR)
        )
    await resources_of(app).routing.reload_agent(uuid.UUID(agent.id))
    view = engine_of(app).agent(agent.id)  # type: ignore[arg-type]
    assert view is not None and view.state.value == "offline"


async def test_an_implicit_skill_queue_cannot_be_named_as_a_queue_after_a_restart(
    migrated_settings: Settings,
) -> None:
    async with running(migrated_settings) as (app, client):
        await add_queue(app, "UI", {"ui": 1})
        body = {"channel": "chat", "required_skills": [{"skill": "ui", "min_level": 1}]}
        created = await client.post("/api/v1/interactions", json=body, headers=_admin(app).headers)
        assert created.status_code == 201
    async with running(migrated_settings) as (app, client):
        response = await client.post(
            "/api/v1/interactions",
            json={"channel": "chat", "queue": "skills:ui:1"},
            headers=_admin(app).headers,
        )
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == "body.queue"


async def test_a_returning_customers_wait_for_her_agent_keeps_its_end_after_a_restart(
    migrated_settings: Settings,
) -> None:
    returning = {**CHAT, "customer": {"id": "claimant-7", "name": "Ana"}}
    async with running(migrated_settings) as (app, client):
        await add_queue(app, "UI", {"ui": 1}, sticky_s=600)
        maria = await add_agent(app, "maria", {"ui": 5}, chats=1)
        admin = _admin(app)
        first = await client.post("/api/v1/interactions", json=returning, headers=admin.headers)
        accept = f"/api/v1/interactions/{first.json()['id']}/accept"
        assert (await client.post(accept, headers=maria.headers)).status_code == 200
        second = await client.post("/api/v1/interactions", json=returning, headers=admin.headers)
        held_id = InteractionId(second.json()["id"])
        before = engine_of(app).interaction(held_id)
        assert before is not None and before.target_agent_id == maria.id  # she is full
        assert before.target_until == pytest.approx(before.queued_at + 600, abs=1e-3)
    async with running(migrated_settings) as (app, client):
        restored = engine_of(app).interaction(held_id)
        assert restored is not None and restored.target_agent_id == maria.id
        assert restored.target_until == pytest.approx(before.target_until, abs=1e-3)
