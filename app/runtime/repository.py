"""The SQL the routing service runs: configuration and open work, read for recovery."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.agents import repository as agents_repository
from app.agents.models import Staff, StaffRole
from app.interactions.models import Interaction
from app.queues import repository as queues_repository
from app.queues.models import Queue
from app.queues.repository import SkillLevels
from app.routing.model import InteractionState
from app.runtime.models import AgentPresence

OPEN_STATES = (
    InteractionState.QUEUED,
    InteractionState.OFFERED,
    InteractionState.ACTIVE,
    InteractionState.WRAP_UP,
)


async def load_queues(
    session: AsyncSession, queue_id: uuid.UUID | None = None
) -> list[tuple[Queue, SkillLevels]]:
    """Active queues (or the one asked for, active or not) with their (skill, min level)."""
    if queue_id is None:
        return await queues_repository.load_active_queues(session)
    queue = await queues_repository.get_queue(session, queue_id)
    if queue is None:
        return []
    skills = await queues_repository.skills_of_queues(session, [queue_id])
    return [(queue, skills.get(queue_id, []))]


async def load_agents(
    session: AsyncSession, staff_id: uuid.UUID | None = None
) -> list[tuple[Staff, SkillLevels]]:
    """Agents (active ones, or the one asked for) with their (skill, proficiency)."""
    if staff_id is None:
        return await agents_repository.load_active_agents(session)
    staff = await agents_repository.get_staff(session, staff_id)
    if staff is None or staff.role is not StaffRole.AGENT:
        return []
    skills = await agents_repository.skills_of_agents(session, [staff_id])
    return [(staff, skills.get(staff_id, []))]


async def load_presence(session: AsyncSession) -> dict[uuid.UUID, AgentPresence]:
    """Each agent's last stored presence."""
    return {row.staff_id: row for row in await session.scalars(select(AgentPresence))}


async def load_open_interactions(session: AsyncSession) -> list[Interaction]:
    """Every interaction not yet ended, in the engine's original order."""
    statement = (
        select(Interaction)
        .where(Interaction.state.in_(OPEN_STATES))
        .order_by(Interaction.queue_seq, Interaction.created_at)
    )
    return list(await session.scalars(statement))


async def open_interaction_ids(session: AsyncSession) -> list[uuid.UUID]:
    """Ids of every interaction not yet ended (cheap: the state index covers it)."""
    rows = await session.scalars(select(Interaction.id).where(Interaction.state.in_(OPEN_STATES)))
    return list(rows)


async def load_interactions(session: AsyncSession, ids: list[uuid.UUID]) -> list[Interaction]:
    """The rows of `ids`, in the engine's original order."""
    statement = (
        select(Interaction)
        .where(Interaction.id.in_(ids))
        .order_by(Interaction.queue_seq, Interaction.created_at)
    )
    return list(await session.scalars(statement))
