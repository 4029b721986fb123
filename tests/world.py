"""Small builders for a routing world in tests: skills, queues and agents the engine knows."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import FastAPI
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncEngine

from app import clock
from app.agents.models import AgentSkill, StaffRole
from app.agents.service import create_staff
from app.auth.principals import Role
from app.auth.tokens import issue_staff_token
from app.queues.models import Queue, QueueSkill
from app.routing import commands as c
from app.routing.engine import Engine
from app.routing.model import AgentId, AgentState
from app.skills.models import Skill
from app.state import Resources
from tests.conftest import Caller


def resources_of(app: FastAPI) -> Resources:
    """The running app's resources."""
    resources: Resources = app.state.resources
    return resources


@contextmanager
def recorded_statements(engine: AsyncEngine) -> Iterator[list[str]]:
    """Every SQL statement `engine` runs inside the block, in order."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


def engine_of(app: FastAPI) -> Engine:
    """The running app's routing engine (the app is the writer), for read-only checks."""
    host = resources_of(app).routing.node.host
    assert host is not None, "this process is not the routing writer"
    return host.worker.engine


async def skill_ids(app: FastAPI, names: list[str]) -> dict[str, uuid.UUID]:
    """Ids of the named skills, creating those that do not exist."""
    async with resources_of(app).sessions() as session, session.begin():
        existing = {s.name: s for s in await session.scalars(select(Skill))}
        for name in names:
            if name not in existing:
                existing[name] = Skill(name=name)
                session.add(existing[name])
        await session.flush()
        return {name: existing[name].id for name in names}


async def add_queue(app: FastAPI, name: str, skills: dict[str, int], **fields: Any) -> uuid.UUID:
    """A queue requiring `skills` ({name: min level}), loaded into the engine."""
    ids = await skill_ids(app, list(skills))
    async with resources_of(app).sessions() as session, session.begin():
        queue = Queue(name=name, **fields)
        session.add(queue)
        await session.flush()
        for skill, level in skills.items():
            session.add(QueueSkill(queue_id=queue.id, skill_id=ids[skill], min_level=level))
        queue_id = queue.id
    await resources_of(app).routing.reload_queue(queue_id)
    return queue_id


async def add_agent(
    app: FastAPI,
    username: str,
    skills: dict[str, int],
    *,
    chats: int = 3,
    available: bool = True,
) -> Caller:
    """An agent with `skills` ({name: proficiency}) in the engine, signed in, maybe available."""
    resources = resources_of(app)
    ids = await skill_ids(app, list(skills))
    async with resources.sessions() as session, session.begin():
        staff = await create_staff(
            session,
            username=username,
            password="test-password-1",
            role=StaffRole.AGENT,
            display_name=username,
            capacity={"chat": chats},
        )
        for skill, level in skills.items():
            session.add(AgentSkill(staff_id=staff.id, skill_id=ids[skill], proficiency=level))
        staff_id = staff.id
    await resources.routing.reload_agent(staff_id)
    if available:
        await set_state(app, str(staff_id), AgentState.AVAILABLE)
    token = issue_staff_token(
        resources.secret_key,
        staff_id=str(staff_id),
        role=Role.AGENT,
        name=username,
        now=clock.now_s(),
    )
    return Caller(str(staff_id), {"Authorization": f"Bearer {token.token}"})


async def set_state(
    app: FastAPI, agent_id: str, state: AgentState, reason: str | None = None
) -> None:
    """Set an agent's presence through the routing service."""
    await resources_of(app).routing.execute(c.SetAgentState(AgentId(agent_id), state, reason))
