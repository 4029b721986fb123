"""Test helpers for the configuration API: a recording routing service and claimant headers."""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass, field

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import clock
from app.agents import repository as agents_repository
from app.agents.models import Staff
from app.auth.tokens import issue_claimant_token
from app.queues.models import Queue
from app.state import Resources


@dataclass(frozen=True)
class QueueReload:
    """One `reload_queue` call and what a separate session saw of the queue at that moment."""

    queue_id: uuid.UUID
    committed_name: str | None
    committed_active: bool | None


@dataclass(frozen=True)
class AgentReload:
    """One `reload_agent` call and what a separate session saw of the agent at that moment."""

    staff_id: uuid.UUID
    committed_active: bool | None
    committed_skills: list[tuple[str, int]]


@dataclass
class RecordingRouting:
    """Stands in for `RoutingService`: records reloads, reading the rows from a fresh session.

    A fresh session sees only committed rows, so each record also proves the handler
    committed before it called the routing service.
    """

    sessions: async_sessionmaker[AsyncSession]
    queues: list[QueueReload] = field(default_factory=list)
    agents: list[AgentReload] = field(default_factory=list)

    async def reload_queue(self, queue_id: uuid.UUID) -> None:
        async with self.sessions() as session:
            queue = await session.get(Queue, queue_id)
        self.queues.append(
            QueueReload(
                queue_id,
                queue.name if queue is not None else None,
                queue.active if queue is not None else None,
            )
        )

    async def reload_agent(self, staff_id: uuid.UUID) -> None:
        async with self.sessions() as session:
            staff = await session.get(Staff, staff_id)
            skills = await agents_repository.skills_of_agents(session, [staff_id])
        self.agents.append(
            AgentReload(
                staff_id, staff.active if staff is not None else None, skills.get(staff_id, [])
            )
        )


def install_recording_routing(app: FastAPI) -> RecordingRouting:
    """Swap the app's routing service for a recorder for the rest of the test."""
    resources: Resources = app.state.resources
    recorder = RecordingRouting(resources.sessions)
    app.state.resources = dataclasses.replace(resources, routing=recorder)  # type: ignore[arg-type]
    return recorder


def claimant_headers(app: FastAPI) -> dict[str, str]:
    """Headers of a claimant signed in to one chat."""
    resources: Resources = app.state.resources
    token = issue_claimant_token(
        resources.secret_key, interaction_id=str(uuid.uuid4()), name="José", now=clock.now_s()
    )
    return {"Authorization": f"Bearer {token.token}"}
